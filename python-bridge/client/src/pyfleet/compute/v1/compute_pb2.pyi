import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from pyfleet.provider.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ComputeStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPUTE_STATUS_UNSPECIFIED: _ClassVar[ComputeStatus]
    COMPUTE_STATUS_PENDING: _ClassVar[ComputeStatus]
    COMPUTE_STATUS_PROVISIONING: _ClassVar[ComputeStatus]
    COMPUTE_STATUS_RUNNING: _ClassVar[ComputeStatus]
    COMPUTE_STATUS_READY: _ClassVar[ComputeStatus]
    COMPUTE_STATUS_STOPPING: _ClassVar[ComputeStatus]
    COMPUTE_STATUS_STOPPED: _ClassVar[ComputeStatus]
    COMPUTE_STATUS_TERMINATING: _ClassVar[ComputeStatus]
    COMPUTE_STATUS_TERMINATED: _ClassVar[ComputeStatus]
    COMPUTE_STATUS_FAILED: _ClassVar[ComputeStatus]
COMPUTE_STATUS_UNSPECIFIED: ComputeStatus
COMPUTE_STATUS_PENDING: ComputeStatus
COMPUTE_STATUS_PROVISIONING: ComputeStatus
COMPUTE_STATUS_RUNNING: ComputeStatus
COMPUTE_STATUS_READY: ComputeStatus
COMPUTE_STATUS_STOPPING: ComputeStatus
COMPUTE_STATUS_STOPPED: ComputeStatus
COMPUTE_STATUS_TERMINATING: ComputeStatus
COMPUTE_STATUS_TERMINATED: ComputeStatus
COMPUTE_STATUS_FAILED: ComputeStatus

class WorkerGroupSpec(_message.Message):
    __slots__ = ("pool", "count", "adapter")
    POOL_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    pool: str
    count: int
    adapter: str
    def __init__(self, pool: _Optional[str] = ..., count: _Optional[int] = ..., adapter: _Optional[str] = ...) -> None: ...

class ComputeSpec(_message.Message):
    __slots__ = ("provider", "gpu", "gpu_count", "image", "cloud_type", "spot", "regions", "ports", "env", "volumes", "container_disk_gb", "name", "idle_ttl", "labels", "client_request_id", "workers", "command")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    GPU_FIELD_NUMBER: _ClassVar[int]
    GPU_COUNT_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    CLOUD_TYPE_FIELD_NUMBER: _ClassVar[int]
    SPOT_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_DISK_GB_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    IDLE_TTL_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    provider: str
    gpu: str
    gpu_count: int
    image: str
    cloud_type: _types_pb2.CloudType
    spot: bool
    regions: _containers.RepeatedScalarFieldContainer[str]
    ports: _containers.RepeatedCompositeFieldContainer[_types_pb2.Port]
    env: _containers.ScalarMap[str, str]
    volumes: _containers.RepeatedCompositeFieldContainer[_types_pb2.Volume]
    container_disk_gb: int
    name: str
    idle_ttl: _duration_pb2.Duration
    labels: _containers.ScalarMap[str, str]
    client_request_id: str
    workers: WorkerGroupSpec
    command: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, provider: _Optional[str] = ..., gpu: _Optional[str] = ..., gpu_count: _Optional[int] = ..., image: _Optional[str] = ..., cloud_type: _Optional[_Union[_types_pb2.CloudType, str]] = ..., spot: _Optional[bool] = ..., regions: _Optional[_Iterable[str]] = ..., ports: _Optional[_Iterable[_Union[_types_pb2.Port, _Mapping]]] = ..., env: _Optional[_Mapping[str, str]] = ..., volumes: _Optional[_Iterable[_Union[_types_pb2.Volume, _Mapping]]] = ..., container_disk_gb: _Optional[int] = ..., name: _Optional[str] = ..., idle_ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., client_request_id: _Optional[str] = ..., workers: _Optional[_Union[WorkerGroupSpec, _Mapping]] = ..., command: _Optional[_Iterable[str]] = ...) -> None: ...

class Compute(_message.Message):
    __slots__ = ("id", "provider", "provider_id", "status", "status_message", "spec", "gpu_type", "cost_per_hour", "endpoints", "owner", "created_at", "updated_at", "ready_at", "last_active_at", "idle_expires_at", "workers_attached")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    GPU_TYPE_FIELD_NUMBER: _ClassVar[int]
    COST_PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    READY_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ACTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    IDLE_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    WORKERS_ATTACHED_FIELD_NUMBER: _ClassVar[int]
    id: str
    provider: str
    provider_id: str
    status: ComputeStatus
    status_message: str
    spec: ComputeSpec
    gpu_type: str
    cost_per_hour: float
    endpoints: _containers.RepeatedCompositeFieldContainer[_types_pb2.Endpoint]
    owner: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    ready_at: _timestamp_pb2.Timestamp
    last_active_at: _timestamp_pb2.Timestamp
    idle_expires_at: _timestamp_pb2.Timestamp
    workers_attached: int
    def __init__(self, id: _Optional[str] = ..., provider: _Optional[str] = ..., provider_id: _Optional[str] = ..., status: _Optional[_Union[ComputeStatus, str]] = ..., status_message: _Optional[str] = ..., spec: _Optional[_Union[ComputeSpec, _Mapping]] = ..., gpu_type: _Optional[str] = ..., cost_per_hour: _Optional[float] = ..., endpoints: _Optional[_Iterable[_Union[_types_pb2.Endpoint, _Mapping]]] = ..., owner: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ready_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_active_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., idle_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., workers_attached: _Optional[int] = ...) -> None: ...

class SpawnComputeRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: ComputeSpec
    def __init__(self, spec: _Optional[_Union[ComputeSpec, _Mapping]] = ...) -> None: ...

class SpawnComputeResponse(_message.Message):
    __slots__ = ("compute",)
    COMPUTE_FIELD_NUMBER: _ClassVar[int]
    compute: Compute
    def __init__(self, compute: _Optional[_Union[Compute, _Mapping]] = ...) -> None: ...

class GetComputeRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetComputeResponse(_message.Message):
    __slots__ = ("compute",)
    COMPUTE_FIELD_NUMBER: _ClassVar[int]
    compute: Compute
    def __init__(self, compute: _Optional[_Union[Compute, _Mapping]] = ...) -> None: ...

class ListComputesRequest(_message.Message):
    __slots__ = ("provider", "statuses", "labels", "page_size", "page_token")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    provider: str
    statuses: _containers.RepeatedScalarFieldContainer[ComputeStatus]
    labels: _containers.ScalarMap[str, str]
    page_size: int
    page_token: str
    def __init__(self, provider: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[ComputeStatus, str]]] = ..., labels: _Optional[_Mapping[str, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListComputesResponse(_message.Message):
    __slots__ = ("computes", "next_page_token")
    COMPUTES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    computes: _containers.RepeatedCompositeFieldContainer[Compute]
    next_page_token: str
    def __init__(self, computes: _Optional[_Iterable[_Union[Compute, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StopComputeRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class StopComputeResponse(_message.Message):
    __slots__ = ("compute",)
    COMPUTE_FIELD_NUMBER: _ClassVar[int]
    compute: Compute
    def __init__(self, compute: _Optional[_Union[Compute, _Mapping]] = ...) -> None: ...

class StartComputeRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class StartComputeResponse(_message.Message):
    __slots__ = ("compute",)
    COMPUTE_FIELD_NUMBER: _ClassVar[int]
    compute: Compute
    def __init__(self, compute: _Optional[_Union[Compute, _Mapping]] = ...) -> None: ...

class TerminateComputeRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class TerminateComputeResponse(_message.Message):
    __slots__ = ("compute",)
    COMPUTE_FIELD_NUMBER: _ClassVar[int]
    compute: Compute
    def __init__(self, compute: _Optional[_Union[Compute, _Mapping]] = ...) -> None: ...

class TouchComputeRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class TouchComputeResponse(_message.Message):
    __slots__ = ("compute",)
    COMPUTE_FIELD_NUMBER: _ClassVar[int]
    compute: Compute
    def __init__(self, compute: _Optional[_Union[Compute, _Mapping]] = ...) -> None: ...

class WaitComputeRequest(_message.Message):
    __slots__ = ("id", "timeout")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    id: str
    timeout: _duration_pb2.Duration
    def __init__(self, id: _Optional[str] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class WaitComputeResponse(_message.Message):
    __slots__ = ("compute",)
    COMPUTE_FIELD_NUMBER: _ClassVar[int]
    compute: Compute
    def __init__(self, compute: _Optional[_Union[Compute, _Mapping]] = ...) -> None: ...

class WatchComputesRequest(_message.Message):
    __slots__ = ("provider", "labels", "include_initial")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_INITIAL_FIELD_NUMBER: _ClassVar[int]
    provider: str
    labels: _containers.ScalarMap[str, str]
    include_initial: bool
    def __init__(self, provider: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., include_initial: _Optional[bool] = ...) -> None: ...

class WatchComputesResponse(_message.Message):
    __slots__ = ("compute", "previous_status")
    COMPUTE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATUS_FIELD_NUMBER: _ClassVar[int]
    compute: Compute
    previous_status: ComputeStatus
    def __init__(self, compute: _Optional[_Union[Compute, _Mapping]] = ..., previous_status: _Optional[_Union[ComputeStatus, str]] = ...) -> None: ...

class WatchComputeLogsRequest(_message.Message):
    __slots__ = ("compute_id", "follow", "tail")
    COMPUTE_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    TAIL_FIELD_NUMBER: _ClassVar[int]
    compute_id: str
    follow: bool
    tail: int
    def __init__(self, compute_id: _Optional[str] = ..., follow: _Optional[bool] = ..., tail: _Optional[int] = ...) -> None: ...

class WatchComputeLogsResponse(_message.Message):
    __slots__ = ("lines",)
    LINES_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[ComputeLogLine]
    def __init__(self, lines: _Optional[_Iterable[_Union[ComputeLogLine, _Mapping]]] = ...) -> None: ...

class ComputeLogLine(_message.Message):
    __slots__ = ("time", "text", "source")
    TIME_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    text: str
    source: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., text: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class ListProvidersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ProviderInfo(_message.Message):
    __slots__ = ("name", "kind", "capabilities", "is_default")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    capabilities: _types_pb2.Capabilities
    is_default: bool
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., capabilities: _Optional[_Union[_types_pb2.Capabilities, _Mapping]] = ..., is_default: _Optional[bool] = ...) -> None: ...

class ListProvidersResponse(_message.Message):
    __slots__ = ("providers",)
    PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    providers: _containers.RepeatedCompositeFieldContainer[ProviderInfo]
    def __init__(self, providers: _Optional[_Iterable[_Union[ProviderInfo, _Mapping]]] = ...) -> None: ...

class ListGpuTypesRequest(_message.Message):
    __slots__ = ("provider",)
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    provider: str
    def __init__(self, provider: _Optional[str] = ...) -> None: ...

class ListGpuTypesResponse(_message.Message):
    __slots__ = ("gpu_types",)
    GPU_TYPES_FIELD_NUMBER: _ClassVar[int]
    gpu_types: _containers.RepeatedCompositeFieldContainer[_types_pb2.GpuType]
    def __init__(self, gpu_types: _Optional[_Iterable[_Union[_types_pb2.GpuType, _Mapping]]] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "provider", "provider_job_id", "endpoint", "status", "input", "output", "error", "owner", "created_at", "finished_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    provider: str
    provider_job_id: str
    endpoint: str
    status: _types_pb2.JobStatus
    input: _struct_pb2.Value
    output: _struct_pb2.Value
    error: str
    owner: str
    created_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., provider: _Optional[str] = ..., provider_job_id: _Optional[str] = ..., endpoint: _Optional[str] = ..., status: _Optional[_Union[_types_pb2.JobStatus, str]] = ..., input: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., output: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., error: _Optional[str] = ..., owner: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RunJobRequest(_message.Message):
    __slots__ = ("provider", "endpoint", "input", "timeout", "client_request_id")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    provider: str
    endpoint: str
    input: _struct_pb2.Value
    timeout: _duration_pb2.Duration
    client_request_id: str
    def __init__(self, provider: _Optional[str] = ..., endpoint: _Optional[str] = ..., input: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., client_request_id: _Optional[str] = ...) -> None: ...

class RunJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CancelJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class StreamJobRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class StreamJobResponse(_message.Message):
    __slots__ = ("output", "job")
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    output: _struct_pb2.Value
    job: Job
    def __init__(self, output: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...
