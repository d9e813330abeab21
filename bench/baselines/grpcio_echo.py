"""Baseline: the sample `echo` tool served by a plain Python grpcio server, as
Snakepit-style pools call Python (one gRPC call per tool call). It implements
pyfleet.pool.v1.PoolService/Execute, so the same client code can call both.

    python bench/baselines/grpcio_echo.py   -> prints {"url": "http://127.0.0.1:PORT"}
"""

from __future__ import annotations

import json
import sys
from concurrent import futures

import grpc
from google.protobuf import json_format

from pyfleet.pool.v1 import pool_pb2, pool_pb2_grpc
from pyfleet_bridge.samples import SampleAdapter

ADAPTER = SampleAdapter()


class Pool(pool_pb2_grpc.PoolServiceServicer):
    def Execute(self, request: pool_pb2.ExecuteRequest, context: grpc.ServicerContext) -> pool_pb2.ExecuteResponse:
        # The same work a pyfleet worker does: JSON in, call the tool, JSON out.
        args = json.loads(json_format.MessageToJson(request.args)) if request.HasField("args") else {}
        result = ADAPTER.echo(**args)
        response = pool_pb2.ExecuteResponse()
        json_format.Parse(json.dumps(result), response.result)
        return response


def main() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    pool_pb2_grpc.add_PoolServiceServicer_to_server(Pool(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(json.dumps({"url": f"http://127.0.0.1:{port}"}), flush=True)
    try:
        sys.stdin.read()  # until the benchmark closes our stdin
    finally:
        server.stop(0)


if __name__ == "__main__":
    main()
