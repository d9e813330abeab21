"""A Python grpcio client, built from the generated code, against a real server."""

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from pyfleet.compute.v1 import compute_pb2, compute_pb2_grpc
from pyfleet.provider.v1 import provider_pb2, provider_pb2_grpc


def test_health_is_serving(server) -> None:
    with grpc.insecure_channel(server.target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        response, call = health.Check.with_call(health_pb2.HealthCheckRequest(service=""), timeout=10)
        assert response.status == health_pb2.HealthCheckResponse.SERVING
        # The standard health messages have no field for it: the server states its version in a header.
        assert dict(call.initial_metadata())["pyfleet-version"] == server.version
        pool = health.Check(health_pb2.HealthCheckRequest(service="pyfleet.pool.v1.PoolService"), timeout=10)
        assert pool.status == health_pb2.HealthCheckResponse.SERVING


def test_unknown_service_is_not_found(server) -> None:
    with grpc.insecure_channel(server.target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND


def test_generated_stub_reaches_the_server(server) -> None:
    with grpc.insecure_channel(server.target) as channel:
        compute = compute_pb2_grpc.ComputeServiceStub(channel)
        providers = compute.ListProviders(compute_pb2.ListProvidersRequest(), timeout=10)
        assert [p.name for p in providers.providers] == ["local", "mock"]
        provider = provider_pb2_grpc.ProviderServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            provider.GetCapabilities(provider_pb2.GetCapabilitiesRequest(), timeout=10)
        # The provider contract is for providers: the server does not offer it.
        assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_server_stops_cleanly_on_sigterm(server) -> None:
    assert server.stop() == 0
