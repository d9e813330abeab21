import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CloudType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLOUD_TYPE_UNSPECIFIED: _ClassVar[CloudType]
    CLOUD_TYPE_SECURE: _ClassVar[CloudType]
    CLOUD_TYPE_COMMUNITY: _ClassVar[CloudType]

class MachineStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MACHINE_STATUS_UNSPECIFIED: _ClassVar[MachineStatus]
    MACHINE_STATUS_PROVISIONING: _ClassVar[MachineStatus]
    MACHINE_STATUS_RUNNING: _ClassVar[MachineStatus]
    MACHINE_STATUS_STOPPING: _ClassVar[MachineStatus]
    MACHINE_STATUS_STOPPED: _ClassVar[MachineStatus]
    MACHINE_STATUS_TERMINATED: _ClassVar[MachineStatus]
    MACHINE_STATUS_FAILED: _ClassVar[MachineStatus]

class GpuStock(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GPU_STOCK_UNSPECIFIED: _ClassVar[GpuStock]
    GPU_STOCK_NONE: _ClassVar[GpuStock]
    GPU_STOCK_LOW: _ClassVar[GpuStock]
    GPU_STOCK_MEDIUM: _ClassVar[GpuStock]
    GPU_STOCK_HIGH: _ClassVar[GpuStock]

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATUS_UNSPECIFIED: _ClassVar[JobStatus]
    JOB_STATUS_QUEUED: _ClassVar[JobStatus]
    JOB_STATUS_RUNNING: _ClassVar[JobStatus]
    JOB_STATUS_COMPLETED: _ClassVar[JobStatus]
    JOB_STATUS_FAILED: _ClassVar[JobStatus]
    JOB_STATUS_CANCELLED: _ClassVar[JobStatus]
    JOB_STATUS_TIMED_OUT: _ClassVar[JobStatus]
CLOUD_TYPE_UNSPECIFIED: CloudType
CLOUD_TYPE_SECURE: CloudType
CLOUD_TYPE_COMMUNITY: CloudType
MACHINE_STATUS_UNSPECIFIED: MachineStatus
MACHINE_STATUS_PROVISIONING: MachineStatus
MACHINE_STATUS_RUNNING: MachineStatus
MACHINE_STATUS_STOPPING: MachineStatus
MACHINE_STATUS_STOPPED: MachineStatus
MACHINE_STATUS_TERMINATED: MachineStatus
MACHINE_STATUS_FAILED: MachineStatus
GPU_STOCK_UNSPECIFIED: GpuStock
GPU_STOCK_NONE: GpuStock
GPU_STOCK_LOW: GpuStock
GPU_STOCK_MEDIUM: GpuStock
GPU_STOCK_HIGH: GpuStock
JOB_STATUS_UNSPECIFIED: JobStatus
JOB_STATUS_QUEUED: JobStatus
JOB_STATUS_RUNNING: JobStatus
JOB_STATUS_COMPLETED: JobStatus
JOB_STATUS_FAILED: JobStatus
JOB_STATUS_CANCELLED: JobStatus
JOB_STATUS_TIMED_OUT: JobStatus

class Capabilities(_message.Message):
    __slots__ = ("stop_start", "spot", "jobs", "job_streaming", "ports", "volumes", "worker_groups", "reset")
    STOP_START_FIELD_NUMBER: _ClassVar[int]
    SPOT_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    JOB_STREAMING_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    WORKER_GROUPS_FIELD_NUMBER: _ClassVar[int]
    RESET_FIELD_NUMBER: _ClassVar[int]
    stop_start: bool
    spot: bool
    jobs: bool
    job_streaming: bool
    ports: bool
    volumes: bool
    worker_groups: bool
    reset: bool
    def __init__(self, stop_start: _Optional[bool] = ..., spot: _Optional[bool] = ..., jobs: _Optional[bool] = ..., job_streaming: _Optional[bool] = ..., ports: _Optional[bool] = ..., volumes: _Optional[bool] = ..., worker_groups: _Optional[bool] = ..., reset: _Optional[bool] = ...) -> None: ...

class Port(_message.Message):
    __slots__ = ("port", "protocol")
    PORT_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    port: int
    protocol: str
    def __init__(self, port: _Optional[int] = ..., protocol: _Optional[str] = ...) -> None: ...

class Volume(_message.Message):
    __slots__ = ("id", "size_gb", "mount_path")
    ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_GB_FIELD_NUMBER: _ClassVar[int]
    MOUNT_PATH_FIELD_NUMBER: _ClassVar[int]
    id: str
    size_gb: int
    mount_path: str
    def __init__(self, id: _Optional[str] = ..., size_gb: _Optional[int] = ..., mount_path: _Optional[str] = ...) -> None: ...

class WorkerGroup(_message.Message):
    __slots__ = ("server_url", "token", "pool", "count", "adapter")
    SERVER_URL_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    server_url: str
    token: str
    pool: str
    count: int
    adapter: str
    def __init__(self, server_url: _Optional[str] = ..., token: _Optional[str] = ..., pool: _Optional[str] = ..., count: _Optional[int] = ..., adapter: _Optional[str] = ...) -> None: ...

class MachineSpec(_message.Message):
    __slots__ = ("gpu", "gpu_count", "image", "cloud_type", "spot", "regions", "ports", "env", "volumes", "container_disk_gb", "name", "labels", "workers", "command")
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
    LABELS_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    gpu: str
    gpu_count: int
    image: str
    cloud_type: CloudType
    spot: bool
    regions: _containers.RepeatedScalarFieldContainer[str]
    ports: _containers.RepeatedCompositeFieldContainer[Port]
    env: _containers.ScalarMap[str, str]
    volumes: _containers.RepeatedCompositeFieldContainer[Volume]
    container_disk_gb: int
    name: str
    labels: _containers.ScalarMap[str, str]
    workers: WorkerGroup
    command: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, gpu: _Optional[str] = ..., gpu_count: _Optional[int] = ..., image: _Optional[str] = ..., cloud_type: _Optional[_Union[CloudType, str]] = ..., spot: _Optional[bool] = ..., regions: _Optional[_Iterable[str]] = ..., ports: _Optional[_Iterable[_Union[Port, _Mapping]]] = ..., env: _Optional[_Mapping[str, str]] = ..., volumes: _Optional[_Iterable[_Union[Volume, _Mapping]]] = ..., container_disk_gb: _Optional[int] = ..., name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., workers: _Optional[_Union[WorkerGroup, _Mapping]] = ..., command: _Optional[_Iterable[str]] = ...) -> None: ...

class Endpoint(_message.Message):
    __slots__ = ("port", "protocol", "url", "host", "public_port")
    PORT_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_PORT_FIELD_NUMBER: _ClassVar[int]
    port: int
    protocol: str
    url: str
    host: str
    public_port: int
    def __init__(self, port: _Optional[int] = ..., protocol: _Optional[str] = ..., url: _Optional[str] = ..., host: _Optional[str] = ..., public_port: _Optional[int] = ...) -> None: ...

class Machine(_message.Message):
    __slots__ = ("id", "status", "name", "gpu_type", "gpu_count", "cost_per_hour", "endpoints", "labels", "created_at", "message", "region", "spot", "image", "pids")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    GPU_TYPE_FIELD_NUMBER: _ClassVar[int]
    GPU_COUNT_FIELD_NUMBER: _ClassVar[int]
    COST_PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    SPOT_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PIDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: MachineStatus
    name: str
    gpu_type: str
    gpu_count: int
    cost_per_hour: float
    endpoints: _containers.RepeatedCompositeFieldContainer[Endpoint]
    labels: _containers.ScalarMap[str, str]
    created_at: _timestamp_pb2.Timestamp
    message: str
    region: str
    spot: bool
    image: str
    pids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, id: _Optional[str] = ..., status: _Optional[_Union[MachineStatus, str]] = ..., name: _Optional[str] = ..., gpu_type: _Optional[str] = ..., gpu_count: _Optional[int] = ..., cost_per_hour: _Optional[float] = ..., endpoints: _Optional[_Iterable[_Union[Endpoint, _Mapping]]] = ..., labels: _Optional[_Mapping[str, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message: _Optional[str] = ..., region: _Optional[str] = ..., spot: _Optional[bool] = ..., image: _Optional[str] = ..., pids: _Optional[_Iterable[int]] = ...) -> None: ...

class GpuType(_message.Message):
    __slots__ = ("alias", "id", "display_name", "memory_gb", "price_per_hour", "spot_price_per_hour", "stock")
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    MEMORY_GB_FIELD_NUMBER: _ClassVar[int]
    PRICE_PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    SPOT_PRICE_PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    alias: str
    id: str
    display_name: str
    memory_gb: int
    price_per_hour: float
    spot_price_per_hour: float
    stock: GpuStock
    def __init__(self, alias: _Optional[str] = ..., id: _Optional[str] = ..., display_name: _Optional[str] = ..., memory_gb: _Optional[int] = ..., price_per_hour: _Optional[float] = ..., spot_price_per_hour: _Optional[float] = ..., stock: _Optional[_Union[GpuStock, str]] = ...) -> None: ...

class JobSpec(_message.Message):
    __slots__ = ("endpoint", "input", "timeout", "request_id")
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    endpoint: str
    input: _struct_pb2.Value
    timeout: _duration_pb2.Duration
    request_id: str
    def __init__(self, endpoint: _Optional[str] = ..., input: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "endpoint", "status", "input", "output", "error", "created_at", "finished_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    endpoint: str
    status: JobStatus
    input: _struct_pb2.Value
    output: _struct_pb2.Value
    error: str
    created_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., endpoint: _Optional[str] = ..., status: _Optional[_Union[JobStatus, str]] = ..., input: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., output: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., error: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
