"""Peer: the same echo as a Ray Serve deployment with REPLICAS replicas.

    python bench/peers/ray_echo.py PORT REPLICAS   -> prints {"url": ...} once serving; blocks until stdin closes
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import ray  # noqa: E402
from ray import serve  # noqa: E402
from starlette.requests import Request  # noqa: E402


@serve.deployment
class Echo:
    async def __call__(self, request: Request) -> dict:
        body = await request.json()
        return {"result": body.get("args", {})}


def main() -> None:
    port, replicas = int(sys.argv[1]), int(sys.argv[2])
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(Echo.options(num_replicas=replicas).bind(), route_prefix="/pyfleet.pool.v1.PoolService/Execute")
    print(json.dumps({"url": f"http://127.0.0.1:{port}"}), flush=True)
    try:
        sys.stdin.read()
    finally:
        serve.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    main()
