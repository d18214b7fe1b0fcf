#!/usr/bin/env python3
"""Generates Tests/AWSProtocolsTests/requests.json: for every operation of the service models in
shared/api, a request as boto3 (the AWS SDK for Python) sends it, with the input it was given.

Inputs are skeletons of each operation's input shape from our own models (strings carry their
member's name, numbers are small, lists hold one item), sent through a real boto3 client whose
sending is intercepted, so every handler botocore runs (S3 checksums, encoding-type, ...) has
run. The Swift front must read each request back into the same input. Run once after
`pip install boto3`; the output is committed as data.

    python3 scripts/gen-protocol-fixtures.py ../shared/api
"""
import base64, datetime, json, os, sys
import boto3, botocore.model
from botocore.config import Config
from botocore.utils import ArgumentGenerator

SOURCE = sys.argv[1] if len(sys.argv) > 1 else "../shared/api"
OUT = "Tests/AWSProtocolsTests/requests.json"
from service_models import MODELS as ALL_MODELS

# The services the nodes speak over HTTP (Organizations is read from the cluster file only).
MODELS = {k: v for k, v in ALL_MODELS.items() if k != "organizations"}
WHEN = datetime.datetime(2026, 12, 3, 12, 36, 0, tzinfo=datetime.timezone.utc)


class Captured(Exception):
    pass


def rpc_form(value, shape):
    """The input as the node's JSON-RPC takes it: timestamps as epoch seconds, blobs as base64."""
    if shape is None:
        return value
    if shape.type_name == "structure":
        return {k: rpc_form(v, shape.members.get(k)) for k, v in value.items()}
    if shape.type_name == "list":
        return [rpc_form(v, shape.member) for v in value]
    if shape.type_name == "map":
        return {k: rpc_form(v, shape.value) for k, v in value.items()}
    if shape.type_name == "timestamp":
        return value.timestamp()
    if shape.type_name == "blob":
        return base64.b64encode(value if isinstance(value, bytes) else value.encode()).decode()
    return value


def fill(value, shape):
    """Skeleton values made useful: timestamps a fixed moment, blobs a few bytes."""
    if shape.type_name == "structure":
        return {k: fill(v, shape.members[k]) for k, v in value.items()}
    if shape.type_name == "list":
        return [fill(v, shape.member) for v in value]
    if shape.type_name == "map":
        return {k: fill(v, shape.value) for k, v in value.items()}
    if shape.type_name == "timestamp":
        return WHEN
    if shape.type_name == "blob":
        return b"hello world"
    if shape.type_name in ("integer", "long"):
        return max(int(shape.metadata.get("min", 1)), 1)
    return value


fixtures = []
session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region_name="us-west-1")
for service, file in MODELS.items():
    with open(os.path.join(SOURCE, file)) as f:
        ours = botocore.model.ServiceModel(json.load(f), service_name=service)
    client = session.client(service, endpoint_url="http://127.0.0.1:8080", config=Config(parameter_validation=False, retries={"max_attempts": 0}))
    seen = {}

    def capture(request, **kw):
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        seen["request"] = {"method": request.method, "url": request.url, "headers": [[k, v.decode() if isinstance(v, bytes) else v] for k, v in request.headers.items()],
                           "body": base64.b64encode(body or b"").decode()}
        raise Captured()

    client.meta.events.register("before-send", capture)
    for name in sorted(ours.operation_names):
        op = ours.operation_model(name)
        params = fill(ArgumentGenerator(use_member_names=True).generate_skeleton(op.input_shape), op.input_shape) if op.input_shape else {}
        theirs = client.meta.service_model.operation_model(name).input_shape
        for k in list(params):  # a member whose type changed since our model was taken
            if theirs is None or k not in theirs.members or theirs.members[k].type_name != op.input_shape.members[k].type_name:
                del params[k]
        method = botocore.xform_name(name)
        try:
            getattr(client, method)(**params)
        except Captured:
            pass
        except Exception as e:  # an operation boto3's own model lacks, or a client-side refusal
            print(f"skip {service}.{name}: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        fixtures.append({"service": service, "operation": name, "input": rpc_form(params, op.input_shape), "request": seen["request"]})

with open(OUT, "w") as f:
    json.dump({"generator": "scripts/gen-protocol-fixtures.py", "botocore": botocore.__version__, "fixtures": fixtures}, f, indent=1, sort_keys=True)
print(f"{len(fixtures)} requests written to {OUT}")
