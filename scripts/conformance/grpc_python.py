#!/usr/bin/env python3
"""Checks a KServe v2 gRPC server (pz serve) with Debian's python3-grpcio.

Message classes come from pz's .proto files through protoc --python_out
(done by the caller into PZ_PB_DIR); calls are grpcio's generic unary
calls. Usage: grpc_python.py HOST:PORT TOKEN MODEL VOCAB. Prints one line
per check and a closing 'N passed, N failed'; exits 1 on any failure.
"""
import os
import struct
import sys

sys.path.insert(0, os.environ["PZ_PB_DIR"])
import grpc  # noqa: E402
import grpc_service_pb2 as pb  # noqa: E402
import health_pb2  # noqa: E402

addr, token, model, vocab = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
chan = grpc.insecure_channel(addr)
auth = [("authorization", "Bearer " + token)] if token else []


def call(method, req, resp_cls, md=None, service="inference.GRPCInferenceService"):
    f = chan.unary_unary("/%s/%s" % (service, method), request_serializer=lambda m: m.SerializeToString(),
                         response_deserializer=resp_cls.FromString)
    return f(req, metadata=auth if md is None else md, timeout=60)


passed, failed = 0, 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print("ok   " + name)
    except Exception as e:  # a failed check, whatever raised it
        failed += 1
        print("FAIL %s: %r" % (name, e))


def live():
    assert call("ServerLive", pb.ServerLiveRequest(), pb.ServerLiveResponse).live


def ready():
    assert call("ServerReady", pb.ServerReadyRequest(), pb.ServerReadyResponse).ready
    assert call("ModelReady", pb.ModelReadyRequest(name=model), pb.ModelReadyResponse).ready


def metadata():
    m = call("ServerMetadata", pb.ServerMetadataRequest(), pb.ServerMetadataResponse)
    assert "generate" in m.extensions and "binary_tensor_data" in m.extensions, m
    md = call("ModelMetadata", pb.ModelMetadataRequest(name=model), pb.ModelMetadataResponse)
    assert [i.name for i in md.inputs][0] == "input_ids", md
    c = call("ModelConfig", pb.ModelConfigRequest(name=model + "_score"), pb.ModelConfigResponse)
    assert [i.name for i in c.config.input] == ["input_ids", "position_ids", "attention_mask", "target_ids"], c


def greedy(raw):
    req = pb.ModelInferRequest(model_name=model)
    req.parameters["max_tokens"].int64_param = 5
    req.parameters["temperature"].double_param = 0.0
    req.parameters["n"].int64_param = 2
    t = req.inputs.add(name="input_ids", datatype="INT32", shape=[1, 3])
    if raw:
        req.raw_input_contents.append(struct.pack("<3i", 5, 9, 33))
    else:
        t.contents.int_contents.extend([5, 9, 33])
    r = call("ModelInfer", req, pb.ModelInferResponse)
    names = [o.name for o in r.outputs]
    ids = r.outputs[names.index("output_ids")]
    n, length = ids.shape
    vals = struct.unpack("<%di" % (n * length), r.raw_output_contents[names.index("output_ids")])
    assert n == 2 and 1 <= length <= 5, ids.shape
    assert vals[:length] == vals[length:], "greedy samples differ"
    assert all(-1 <= v < vocab for v in vals), vals
    return vals


def infer_typed_and_raw():
    assert greedy(False) == greedy(True)


def score():
    req = pb.ModelInferRequest(model_name=model + "_score")
    seq = [5, 9, 33, 7]
    for name, vals in (("input_ids", seq[:-1]), ("position_ids", [0, 1, 2]), ("attention_mask", [1, 1, 1]), ("target_ids", seq[1:])):
        req.inputs.add(name=name, datatype="INT64", shape=[1, 3])
        req.raw_input_contents.append(struct.pack("<3q", *vals))
    r = call("ModelInfer", req, pb.ModelInferResponse)
    names = [o.name for o in r.outputs]
    lp = struct.unpack("<3f", r.raw_output_contents[names.index("logprobs")])
    assert all(v <= 0 for v in lp), lp


def bad_input():
    req = pb.ModelInferRequest(model_name=model)
    req.inputs.add(name="input_ids", datatype="INT32", shape=[1, 2]).contents.int_contents.extend([1])
    try:
        call("ModelInfer", req, pb.ModelInferResponse)
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.code()
        return
    raise AssertionError("a short tensor was accepted")


def unknown_model():
    try:
        call("ModelReady", pb.ModelReadyRequest(name="nope"), pb.ModelReadyResponse)
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.NOT_FOUND, e.code()
        return
    raise AssertionError("unknown model was ready")


def unauthenticated():
    if not token:
        return
    for md in ([], [("authorization", "Bearer wrong")]):
        try:
            call("ServerLive", pb.ServerLiveRequest(), pb.ServerLiveResponse, md=md)
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNAUTHENTICATED, e.code()
            continue
        raise AssertionError("no token and live answered")


def health():
    r = call("Check", health_pb2.HealthCheckRequest(), health_pb2.HealthCheckResponse, service="grpc.health.v1.Health")
    assert r.status == health_pb2.HealthCheckResponse.SERVING, r


for name, fn in (("live", live), ("ready", ready), ("metadata", metadata), ("infer typed+raw", infer_typed_and_raw),
                 ("score", score), ("bad input", bad_input), ("unknown model", unknown_model),
                 ("unauthenticated", unauthenticated), ("health", health)):
    check(name, fn)
print("grpcio %s" % grpc.__version__)
print("grpcio: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
