"""toycloud: a third-party pyfleet provider written in Python with grpcio.

It implements pyfleet.provider.v1.ProviderService for an imaginary cloud
held in memory, and passes `pyfleet-conformance provider`. Copy it as the
starting point of a provider for a real cloud: replace the `_Cloud` class
with calls to your cloud's API and keep the service layer, which maps
requests, validation and errors to the contract.

    python toycloud.py --port 50051 [--api-key KEY]
    npx pyfleet-conformance provider http://127.0.0.1:50051 --protocol grpc
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field

import grpc
from google.protobuf import json_format, struct_pb2, timestamp_pb2

from pyfleet.provider.v1 import provider_pb2 as pb
from pyfleet.provider.v1 import provider_pb2_grpc as pb_grpc
from pyfleet.provider.v1 import types_pb2 as types

NAME = "toycloud"
VERSION = "1.0.0"

CATALOG = [
    types.GpuType(alias="t4", id="NVIDIA Tesla T4", display_name="NVIDIA Tesla T4", memory_gb=16,
               price_per_hour=0.35, stock=types.GPU_STOCK_HIGH),
    types.GpuType(alias="a10g", id="NVIDIA A10G", display_name="NVIDIA A10G", memory_gb=24,
               price_per_hour=1.01, stock=types.GPU_STOCK_MEDIUM),
]

FINISHED_JOBS = {types.JOB_STATUS_COMPLETED, types.JOB_STATUS_FAILED, types.JOB_STATUS_CANCELLED, types.JOB_STATUS_TIMED_OUT}


class ContractError(Exception):
    """An error with its gRPC status code, raised anywhere below the service layer."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def _now() -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.GetCurrentTime()
    return ts


@dataclass
class _Machine:
    machine: types.Machine
    # Gets left before a new machine reports RUNNING, as a real cloud would take a while.
    provisioning_polls: int = 1


@dataclass
class _Cloud:
    """The imaginary cloud: where a real provider would call its cloud's API."""

    machines: dict[str, _Machine] = field(default_factory=dict)
    by_request: dict[str, str] = field(default_factory=dict)
    jobs: dict[str, types.Job] = field(default_factory=dict)
    jobs_by_request: dict[str, str] = field(default_factory=dict)
    seq: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_id(self, prefix: str) -> str:
        self.seq += 1
        return f"{prefix}-{self.seq}"

    def find(self, machine_id: str) -> _Machine:
        found = self.machines.get(machine_id)
        if found is None:
            raise ContractError(grpc.StatusCode.NOT_FOUND, f'no machine "{machine_id}" at {NAME}')
        return found

    def find_job(self, job_id: str) -> types.Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise ContractError(grpc.StatusCode.NOT_FOUND, f'no job "{job_id}" at {NAME}')
        return job


def _resolve_gpu(name: str) -> types.GpuType | None:
    if not name:
        return None
    for gpu in CATALOG:
        if name.lower() in (gpu.alias, gpu.id.lower()):
            return gpu
    valid = ", ".join(g.alias for g in CATALOG)
    raise ContractError(grpc.StatusCode.INVALID_ARGUMENT, f'unknown GPU "{name}"; valid: {valid}')


def _required(value: str, name: str) -> str:
    if not value:
        raise ContractError(grpc.StatusCode.INVALID_ARGUMENT, f"{name} is required")
    return value


class ToyCloudProvider(pb_grpc.ProviderServiceServicer):
    """The ProviderService contract over the toy cloud."""

    def __init__(self) -> None:
        self.cloud = _Cloud()

    def GetCapabilities(self, request: pb.GetCapabilitiesRequest, context: grpc.ServicerContext) -> pb.GetCapabilitiesResponse:
        caps = types.Capabilities(stop_start=True, jobs=True, job_streaming=True, ports=True, reset=True)
        return pb.GetCapabilitiesResponse(name=NAME, version=VERSION, capabilities=caps)

    def ListGpuTypes(self, request: pb.ListGpuTypesRequest, context: grpc.ServicerContext) -> pb.ListGpuTypesResponse:
        return pb.ListGpuTypesResponse(gpu_types=CATALOG)

    def Spawn(self, request: pb.SpawnRequest, context: grpc.ServicerContext) -> pb.SpawnResponse:
        request_id = _required(request.request_id, "request_id")
        if not request.HasField("spec"):
            raise ContractError(grpc.StatusCode.INVALID_ARGUMENT, "spec is required")
        spec = request.spec
        with self.cloud.lock:
            existing = self.cloud.by_request.get(request_id)
            if existing is not None:
                return pb.SpawnResponse(machine=self.cloud.machines[existing].machine)
            if spec.spot:
                raise ContractError(grpc.StatusCode.UNIMPLEMENTED, f"{NAME} has no spot machines")
            if spec.volumes:
                raise ContractError(grpc.StatusCode.UNIMPLEMENTED, f"{NAME} cannot attach volumes")
            gpu = _resolve_gpu(spec.gpu)
            count = (spec.gpu_count or 1) if gpu else 0
            machine_id = self.cloud.next_id("toy")
            machine = types.Machine(
                id=machine_id,
                status=types.MACHINE_STATUS_PROVISIONING,
                name=spec.name or machine_id,
                gpu_type=gpu.id if gpu else "",
                gpu_count=count,
                cost_per_hour=gpu.price_per_hour * count if gpu else 0.0,
                endpoints=[types.Endpoint(port=p.port, protocol=p.protocol or "http",
                                       url=f"https://{machine_id}-{p.port}.toycloud.invalid") for p in spec.ports],
                labels=dict(spec.labels),
                created_at=_now(),
                region=spec.regions[0] if spec.regions else "toy-1",
                image=spec.image,
            )
            self.cloud.machines[machine_id] = _Machine(machine)
            self.cloud.by_request[request_id] = machine_id
            return pb.SpawnResponse(machine=machine)

    def Get(self, request: pb.GetRequest, context: grpc.ServicerContext) -> pb.GetResponse:
        with self.cloud.lock:
            found = self.cloud.find(_required(request.id, "id"))
            if found.machine.status == types.MACHINE_STATUS_PROVISIONING:
                found.provisioning_polls -= 1
                if found.provisioning_polls < 0:
                    found.machine.status = types.MACHINE_STATUS_RUNNING
            return pb.GetResponse(machine=found.machine)

    def List(self, request: pb.ListRequest, context: grpc.ServicerContext) -> pb.ListResponse:
        with self.cloud.lock:
            machines = [
                m.machine for m in self.cloud.machines.values()
                if (request.include_terminated or m.machine.status != types.MACHINE_STATUS_TERMINATED)
                and all(m.machine.labels.get(k) == v for k, v in request.labels.items())
            ]
            return pb.ListResponse(machines=machines)

    def _live(self, machine_id: str, action: str) -> _Machine:
        found = self.cloud.find(_required(machine_id, "id"))
        if found.machine.status == types.MACHINE_STATUS_TERMINATED:
            raise ContractError(grpc.StatusCode.FAILED_PRECONDITION, f'machine "{machine_id}" is terminated and cannot {action}')
        return found

    def Stop(self, request: pb.StopRequest, context: grpc.ServicerContext) -> pb.StopResponse:
        with self.cloud.lock:
            found = self._live(request.id, "stop")
            found.machine.status = types.MACHINE_STATUS_STOPPED
            return pb.StopResponse(machine=found.machine)

    def Start(self, request: pb.StartRequest, context: grpc.ServicerContext) -> pb.StartResponse:
        with self.cloud.lock:
            found = self._live(request.id, "start")
            if found.machine.status == types.MACHINE_STATUS_STOPPED:
                found.machine.status = types.MACHINE_STATUS_RUNNING
            return pb.StartResponse(machine=found.machine)

    def Terminate(self, request: pb.TerminateRequest, context: grpc.ServicerContext) -> pb.TerminateResponse:
        with self.cloud.lock:
            found = self.cloud.find(_required(request.id, "id"))
            found.machine.status = types.MACHINE_STATUS_TERMINATED
            return pb.TerminateResponse(machine=found.machine)

    def RunJob(self, request: pb.RunJobRequest, context: grpc.ServicerContext) -> pb.RunJobResponse:
        spec = request.spec
        _required(spec.endpoint, "spec.endpoint")
        with self.cloud.lock:
            existing = self.cloud.jobs_by_request.get(spec.request_id) if spec.request_id else None
            if existing is not None:
                return pb.RunJobResponse(job=self.cloud.jobs[existing])
            job_id = self.cloud.next_id("toy-job")
            job = types.Job(id=job_id, endpoint=spec.endpoint, status=types.JOB_STATUS_QUEUED, input=spec.input, created_at=_now())
            self.cloud.jobs[job_id] = job
            if spec.request_id:
                self.cloud.jobs_by_request[spec.request_id] = job_id
            return pb.RunJobResponse(job=job)

    def _complete(self, job: types.Job) -> None:
        # The toy endpoint answers with its input, as {"echo": input}.
        output = struct_pb2.Value()
        output.struct_value.update({"echo": json.loads(_value_json(job.input))})
        job.output.CopyFrom(output)
        job.status = types.JOB_STATUS_COMPLETED
        job.finished_at.CopyFrom(_now())

    def GetJob(self, request: pb.GetJobRequest, context: grpc.ServicerContext) -> pb.GetJobResponse:
        with self.cloud.lock:
            job = self.cloud.find_job(_required(request.id, "id"))
            if job.status not in FINISHED_JOBS:
                self._complete(job)
            return pb.GetJobResponse(job=job)

    def CancelJob(self, request: pb.CancelJobRequest, context: grpc.ServicerContext) -> pb.CancelJobResponse:
        with self.cloud.lock:
            job = self.cloud.find_job(_required(request.id, "id"))
            if job.status not in FINISHED_JOBS:
                job.status = types.JOB_STATUS_CANCELLED
                job.finished_at.CopyFrom(_now())
            return pb.CancelJobResponse(job=job)

    def StreamJob(self, request: pb.StreamJobRequest, context: grpc.ServicerContext) -> Iterator[pb.StreamJobResponse]:
        with self.cloud.lock:
            job = self.cloud.find_job(_required(request.id, "id"))
            running = job.status not in FINISHED_JOBS
        if running:
            # Partial output first, as a model streaming tokens would.
            partial = struct_pb2.Value(string_value="working")
            yield pb.StreamJobResponse(output=partial)
            with self.cloud.lock:
                if job.status not in FINISHED_JOBS:
                    self._complete(job)
        yield pb.StreamJobResponse(job=job)

    def Reset(self, request: pb.ResetRequest, context: grpc.ServicerContext) -> pb.ResetResponse:
        with self.cloud.lock:
            self.cloud = _Cloud()
        return pb.ResetResponse()


def _value_json(value: struct_pb2.Value) -> str:
    return json_format.MessageToJson(value) if value.WhichOneof("kind") else "null"


class _Errors(grpc.ServerInterceptor):
    """Turns ContractError into its status code, and checks the API key when one is set."""

    def __init__(self, api_key: str | None) -> None:
        self.api_key = api_key

    def intercept_service(self, continuation, handler_call_details):  # type: ignore[no-untyped-def]
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        metadata = dict(handler_call_details.invocation_metadata or ())
        authorized = self.api_key is None or metadata.get("authorization") == f"Bearer {self.api_key}"

        def wrap(behavior, streaming: bool):  # type: ignore[no-untyped-def]
            def unary(request, context):  # type: ignore[no-untyped-def]
                if not authorized:
                    context.abort(grpc.StatusCode.UNAUTHENTICATED, "send `authorization: Bearer <key>`")
                try:
                    return behavior(request, context)
                except ContractError as e:
                    context.abort(e.code, str(e))

            def stream(request, context):  # type: ignore[no-untyped-def]
                if not authorized:
                    context.abort(grpc.StatusCode.UNAUTHENTICATED, "send `authorization: Bearer <key>`")
                try:
                    yield from behavior(request, context)
                except ContractError as e:
                    context.abort(e.code, str(e))

            return stream if streaming else unary

        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(wrap(handler.unary_unary, False),
                                                       request_deserializer=handler.request_deserializer,
                                                       response_serializer=handler.response_serializer)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(wrap(handler.unary_stream, True),
                                                        request_deserializer=handler.request_deserializer,
                                                        response_serializer=handler.response_serializer)
        return handler


def _wait_for_eof(stopped: threading.Event) -> None:
    # os.read, not sys.stdin: a daemon thread blocked inside sys.stdin's buffered reader holds
    # its lock, and the interpreter aborts at exit ("could not acquire lock for stdin").
    while os.read(0, 65536):
        pass
    stopped.set()


def serve(port: int, api_key: str | None, exit_with_stdin: bool) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), interceptors=[_Errors(api_key)])
    pb_grpc.add_ProviderServiceServicer_to_server(ToyCloudProvider(), server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    # Stop handlers before the ready line: whoever reads it may signal at once.
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    if exit_with_stdin:
        # Exit when whoever started us closes our stdin, so a test run never leaves us behind.
        threading.Thread(target=_wait_for_eof, args=(stopped,), daemon=True).start()
    server.start()
    # One JSON line for whoever started us (tests wait for it).
    print(json.dumps({"ready": True, "url": f"http://127.0.0.1:{bound}"}), flush=True)
    stopped.wait()
    server.stop(grace=1).wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=50051, help="port to listen on; 0 picks a free one")
    parser.add_argument("--api-key", help="require `authorization: Bearer KEY` on every call")
    parser.add_argument("--exit-with-stdin", action="store_true", help="stop when stdin closes (for test harnesses)")
    args = parser.parse_args()
    serve(args.port, args.api_key, args.exit_with_stdin)


if __name__ == "__main__":
    main()
