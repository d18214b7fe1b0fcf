#!/usr/bin/env python3
"""Generates Tests/SigV4Tests/vectors.json: requests signed by botocore (the AWS SDK for Python)
with fixed credentials and time, and what botocore computed for each (canonical request, string
to sign, signature, Authorization header or presigned URL). The Swift implementation must
compute the same. Run once after `pip install botocore`; the output is committed as data."""
import datetime, json, os
from unittest import mock
from botocore.auth import SigV4Auth, S3SigV4Auth, SigV4QueryAuth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLWVhc3QtMSJGMEQCIEXAMPLE="
WHEN = datetime.datetime(2026, 12, 3, 12, 36, 0)

cases = [
    ("get-simple", "GET", "http://127.0.0.1:8080/", {}, b"", "iam", "us-east-1", False),
    ("query-api", "POST", "http://127.0.0.1:8080/", {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
     b"Action=CreateUser&UserName=alice&Version=2010-05-08", "iam", "us-east-1", False),
    ("json-1.1", "POST", "http://127.0.0.1:8080/", {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "CloudTrail_20131101.LookupEvents"},
     b'{"MaxResults": 5}', "cloudtrail", "us-west-1", False),
    ("rest-json-labels", "GET", "http://127.0.0.1:8080/audience-generation-job/arn%3Aaws%3Acleanrooms-ml%3Aus-west-1%3A111111111111%3Aaudience-generation-job%2Fabc",
     {}, b"", "cleanrooms-ml", "us-west-1", False),
    ("rest-json-query", "GET", "http://127.0.0.1:8080/audience-generation-job?maxResults=10&nextToken=a%2Bb%3D%3D&collaborationId=c-1",
     {}, b"", "cleanrooms-ml", "us-west-1", False),
    ("repeated-query-keys", "GET", "http://127.0.0.1:8080/x?b=2&a=2&a=1&c=&d", {}, b"", "cleanrooms-ml", "us-west-1", False),
    ("odd-path", "GET", "http://127.0.0.1:8080/a%20b/c~d/e!f'g(h)*i", {}, b"", "cleanrooms-ml", "us-west-1", False),
    ("header-spaces", "POST", "http://127.0.0.1:8080/", {"X-Amz-Meta-Thing": "  a   b  c ", "Content-Type": "application/json", "My-Header": "x,y"},
     b"{}", "cleanrooms-ml", "us-west-1", False),
    ("unicode-body", "POST", "http://127.0.0.1:8080/", {"Content-Type": "application/json"}, "{\"name\":\"caf\u00e9 \u2603\"}".encode(), "cleanrooms-ml", "us-west-1", False),
    ("session-token", "POST", "http://127.0.0.1:8080/", {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSGlue.GetTable"},
     b'{"DatabaseName":"ads","Name":"t"}', "glue", "us-west-1", True),
    ("s3-put", "PUT", "http://127.0.0.1:8080/bucket-1/path/to/my%20file.csv", {"Content-Type": "text/csv"}, b"user_id\nu1\n", "s3", "us-west-1", False),
    ("s3-get-odd-key", "GET", "http://127.0.0.1:8080/bucket-1/a%2Bb/c%3Dd/%C3%A9", {}, b"", "s3", "us-west-1", False),
    ("s3-list", "GET", "http://127.0.0.1:8080/bucket-1?list-type=2&prefix=a%2F&max-keys=5", {}, b"", "s3", "us-west-1", False),
]

def recording(cls):
    """The signer class, recording what it computed."""
    class Recording(cls):
        seen = {}
        def canonical_request(self, request):
            c = super().canonical_request(request)
            self.seen["canonicalRequest"] = c
            return c
        def string_to_sign(self, request, canonical_request):
            s = super().string_to_sign(request, canonical_request)
            self.seen["stringToSign"] = s
            return s
        def signature(self, string_to_sign, request):
            g = super().signature(string_to_sign, request)
            self.seen["signature"] = g
            return g
    return Recording

def sign(name, method, url, headers, body, service, region, with_token):
    creds = Credentials(KEY, SECRET, TOKEN if with_token else None)
    req = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    auth = recording(S3SigV4Auth if service == "s3" else SigV4Auth)(creds, service, region)
    with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN):
        auth.add_auth(req)
    return {"name": name, "kind": "header", "method": method, "url": url, "service": service, "region": region,
            "headers": {k: v for k, v in req.headers.items()}, "body": body.decode("utf-8"), **auth.seen,
            "authorization": req.headers["Authorization"]}

def presign(name, method, url, service, region, expires):
    creds = Credentials(KEY, SECRET)
    req = AWSRequest(method=method, url=url, headers={}, data=b"")
    auth = recording(S3SigV4QueryAuth if service == "s3" else SigV4QueryAuth)(creds, service, region, expires=expires)
    with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN):
        auth.add_auth(req)
    return {"name": name, "kind": "query", "method": method, "url": req.url, "service": service, "region": region,
            "headers": {k: v for k, v in req.headers.items()}, "body": "", "expires": expires, **auth.seen}

vectors = {"accessKeyId": KEY, "secretAccessKey": SECRET, "sessionToken": TOKEN, "time": WHEN.strftime("%Y%m%dT%H%M%SZ"),
           "cases": [sign(*c) for c in cases] + [presign("s3-presigned-get", "GET", "http://127.0.0.1:8080/bucket-1/key.csv", "s3", "us-west-1", 3600),
                                                 presign("s3-presigned-get-params", "GET", "http://127.0.0.1:8080/bucket-1/a%20b.csv?versionId=3", "s3", "us-west-1", 600)]}
out = os.path.join(os.path.dirname(__file__), "..", "Tests", "SigV4Tests", "vectors.json")
with open(out, "w") as f:
    json.dump(vectors, f, indent=1, sort_keys=True, ensure_ascii=False)
    f.write("\n")
print("wrote", out, len(vectors["cases"]), "cases")
