#!/usr/bin/env python3
"""Per-call time of boto3 against an account node's HTTP front, beside the same calls against
another endpoint (moto's server, say), measured the same way in one run.

    pip install boto3 'moto[server]'                       # yourself: not part of swift test
    moto_server -p 5555 &                                  # the endpoint to compare with
    swift run -c release crml cluster up --dir /tmp/bench-boto3
    python3 scripts/bench-boto3.py --dir /tmp/bench-boto3 --other http://127.0.0.1:5555

For each call both serve it prints the median and p99 of wall time per call over --calls calls
(after --warmup), and the ratio. One boto3 client per endpoint, one call at a time. It also
times boto3 alone: the same calls answered by a canned copy of the node's own answer handed
back before anything is sent (serializing, signing and parsing still run; no socket), the
floor no endpoint can go under.
"""
import argparse, json, os, statistics, time
import boto3
from botocore.config import Config

p = argparse.ArgumentParser()
p.add_argument("--dir", default=os.environ.get("CRML_DIR", ".crml"))
p.add_argument("--account", default="111111111111")
p.add_argument("--other", required=True, help="the endpoint to compare with, e.g. http://127.0.0.1:5555")
p.add_argument("--calls", type=int, default=2000)
p.add_argument("--warmup", type=int, default=200)
args = p.parse_args()

cluster = json.load(open(os.path.join(args.dir, "cluster.json")))
acct = next(a for a in cluster["accounts"] if a["id"] == args.account)
ours = {"endpoint": f"http://{acct['host']}:{acct['httpPort']}", "key": acct["admin"]["accessKeyId"], "secret": acct["admin"]["secretAccessKey"]}
theirs = {"endpoint": args.other, "key": "testing", "secret": "testing"}
region = cluster["region"]
config = Config(retries={"max_attempts": 0}, parameter_validation=True)
OBJECT = b"user_id\nu1\n"


def clients(side):
    s = boto3.Session(aws_access_key_id=side["key"], aws_secret_access_key=side["secret"], region_name=region)
    return {name: s.client(name, endpoint_url=side["endpoint"], config=config) for name in ("sts", "iam", "s3", "glue")}


def prepare(c):
    for f in (lambda: c["iam"].create_user(UserName="bench-user"), lambda: c["s3"].create_bucket(Bucket="bench-boto3",
              CreateBucketConfiguration={"LocationConstraint": region}), lambda: c["glue"].create_database(DatabaseInput={"Name": "benchdb"})):
        try:
            f()
        except Exception:
            pass  # already there from an earlier run
    c["s3"].put_object(Bucket="bench-boto3", Key="k.csv", Body=OBJECT)


CALLS = [
    ("sts.get_caller_identity", lambda c: c["sts"].get_caller_identity()),
    ("iam.get_user", lambda c: c["iam"].get_user(UserName="bench-user")),
    ("glue.get_database", lambda c: c["glue"].get_database(Name="benchdb")),
    ("s3.get_object", lambda c: c["s3"].get_object(Bucket="bench-boto3", Key="k.csv")["Body"].read()),
]


def measure(c, call):
    for _ in range(args.warmup):
        call(c)
    times = []
    for _ in range(args.calls):
        t = time.perf_counter()
        call(c)
        times.append(time.perf_counter() - t)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99)]


def canned(c, name, call):
    """A client whose requests are answered, without a socket, by the node's last answer to this call."""
    from botocore.awsrequest import AWSResponse
    captured = {}

    def keep(response_dict=None, **kw):
        body = response_dict["body"]
        captured["r"] = (response_dict["status_code"], dict(response_dict["headers"]), body if isinstance(body, bytes) else OBJECT)

    service = name.split(".")[0]
    c[service].meta.events.register("before-parse", keep)
    call(c)
    status, headers, body = captured["r"]

    class Raw:
        def __init__(self): self.data = body
        def stream(self, *a, **k): yield body
        def read(self, *a, **k): return body

    def answer(request, **kw):
        return AWSResponse(request.url, status, headers, Raw())

    fake = clients(ours)
    fake[service].meta.events.register("before-send", answer)
    return fake


a, b = clients(ours), clients(theirs)
prepare(a)
prepare(b)
print(f"boto3 per call, {args.calls} calls each: crml {ours['endpoint']} vs {args.other}")
for name, call in CALLS:
    (ma, pa), (mb, pb) = measure(a, call), measure(b, call)
    try:
        mf, _ = measure(canned(a, name, call), call)
        floor = f"   boto3 alone p50 {mf * 1e3:5.2f} ms (other/floor {mb / mf:5.2f}x)"
    except Exception as e:  # a botocore without these events: no floor
        floor = f"   (no floor: {type(e).__name__})"
    print(f"  {name:26s} crml p50 {ma * 1e3:6.2f} ms p99 {pa * 1e3:6.2f} ms   other p50 {mb * 1e3:6.2f} ms p99 {pb * 1e3:6.2f} ms   other/crml {mb / ma:5.2f}x{floor}")
