"""Server reflection over mTLS from grpcio (Python's gRPC): many requests
on one bidirectional stream, answered in order; unknown names answered
with an error on a stream that stays usable; refusal of an unregistered
certificate; a client that walks away mid-stream."""
import os

import grpc
import pytest
from google.protobuf import descriptor_pb2, message_factory

import loopledger as ll

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def reflection_types():
    # The reflection messages from the descriptor set CMake built (they are
    # in it for loopledgerd's own answers).
    path = os.environ["LOOPLEDGER_DESCRIPTORS"]
    fds = descriptor_pb2.FileDescriptorSet.FromString(open(path, "rb").read())
    files = [f for f in fds.file if f.package == "grpc.reflection.v1"]
    cl = message_factory.GetMessages(files)
    return (cl["grpc.reflection.v1.ServerReflectionRequest"],
            cl["grpc.reflection.v1.ServerReflectionResponse"])


def stream(ledger, actor):
    Req, Resp = reflection_types()
    t = ledger.tls(actor)
    creds = grpc.ssl_channel_credentials(*(open(t[k], "rb").read() for k in ("ca", "key", "cert")))
    ch = grpc.secure_channel(ledger.server, creds)
    call = ch.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                            request_serializer=lambda m: m.SerializeToString(),
                            response_deserializer=Resp.FromString)
    return Req, call, ch


def test_many_requests_on_one_stream(ledger):
    Req, call, ch = stream(ledger, "ana")
    reqs = [Req(list_services="")]
    for _ in range(20):
        reqs += [Req(file_containing_symbol="loopledger.v1.LoopService.GetInitiative"),
                 Req(file_containing_symbol="no.such.Symbol"),
                 Req(file_by_filename="loopledger/v1/roadmap.proto")]
    out = list(call(iter(reqs), timeout=30))
    assert len(out) == len(reqs)
    names = sorted(s.name for s in out[0].list_services_response.service)
    assert names == sorted(["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                            "grpc.reflection.v1alpha.ServerReflection",
                            "loopledger.v1.GovernanceService", "loopledger.v1.LedgerService",
                            "loopledger.v1.LoopService", "loopledger.v1.RoadmapService"])
    for i in range(20):
        a, b, c = out[1 + 3 * i: 4 + 3 * i]
        got = [descriptor_pb2.FileDescriptorProto.FromString(x).name
               for x in a.file_descriptor_response.file_descriptor_proto]
        assert got[0] == "loopledger/v1/loop.proto" and "loopledger/v1/entry.proto" in got
        assert b.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
        assert b.original_request.file_containing_symbol == "no.such.Symbol"
        assert c.file_descriptor_response.file_descriptor_proto
    ch.close()


def test_unregistered_certificate_is_refused(ledger):
    Req, call, ch = stream(ledger, "mallory")
    with pytest.raises(grpc.RpcError) as ei:
        list(call(iter([Req(list_services="")]), timeout=30))
    assert ei.value.code() == grpc.StatusCode.UNAUTHENTICATED
    ch.close()


def test_client_walking_away_mid_stream(ledger, admin):
    Req, call, ch = stream(ledger, "admin")

    def endless():
        while True:
            yield Req(file_by_filename="loopledger/v1/domain.proto")
    it = call(endless(), timeout=30)
    for _ in range(50):
        assert next(it).file_descriptor_response
    it.cancel()
    ch.close()
    # The server carries on.
    assert admin.health.check(service="").status == "serving"
