#!/usr/bin/env python3
"""Writes Tests/CLIOutputTests/vectors.json: our own answers as aws-cli prints them with
--output text and --output table (its own formatters, from the `awscli` package on PyPI, no
colour, an 80-column terminal). The Swift tests check that `TextOutput` and `TableOutput`
print the same; they do not run Python. Regenerate: python3 scripts/gen-output-vectors.py"""
import io, json, os, types
from awscli.formatter import TableFormatter
from awscli.text import format_text

documents = {
    "ListUsers": {"Users": [
        {"UserName": "admin", "Path": "/", "UserId": "AIDAADMIN", "Arn": "arn:aws:iam::111111111111:user/admin", "CreateDate": 1700000000},
        {"UserName": "analyst", "Path": "/team/", "UserId": "AIDAANALYST", "Arn": "arn:aws:iam::111111111111:user/team/analyst", "CreateDate": 1700000100,
         "Tags": [{"Key": "team", "Value": "ads"}, {"Key": "level", "Value": "2"}]}], "IsTruncated": False},
    "GetCallerIdentity": {"Account": "111111111111", "Arn": "arn:aws:iam::111111111111:user/admin", "UserId": "AIDAADMIN"},
    "CreateAccessKey": {"AccessKey": {"UserName": "analyst", "AccessKeyId": "AKIAEXAMPLE", "Status": "Active",
                                      "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG", "CreateDate": 1700000000}},
    "ListAudienceGenerationJobs": {"audienceGenerationJobs": [
        {"name": "spring", "status": "ACTIVE", "audienceGenerationJobArn": "arn:aws:cleanrooms-ml:us-west-1:111111111111:audience-generation-job/6b007dd9",
         "createTime": 1700000000.5, "startedBy": "111111111111"},
        {"name": "summer", "status": "CREATE_FAILED", "audienceGenerationJobArn": "arn:aws:cleanrooms-ml:us-west-1:111111111111:audience-generation-job/1c2d",
         "createTime": 1700000100, "startedBy": "111111111111"}]},
    "Scalars": ["a", "b", 3, True, None],
    "Nested": {"a": [[1, 2], [3, 4]], "b": {"c": {"d": "deep"}}, "e": [], "n": None, "t": True, "z": 0},
    "ListOfLists": [["u1", "AIDA1"], ["u2", "AIDA2"]],
    "Name": "analyst",
    "Empty": {},
    "Multi": {"Items": [{"Name": "x", "Zs": ["z1"], "As": ["a1", "a2"], "Ms": {"k": "v", "j": 2}, "Bs": [{"p": 1}]},
                        {"Name": "y", "As": ["a3"], "Count": 0}]},
    "Wide": {"Object": {"Key": "a-rather-long-key-name/with/parts/that/goes/on/and/on.csv", "ETag": "\"d41d8cd98f00b204e9800998ecf8427e\"",
                        "Size": 123456789, "StorageClass": "STANDARD", "LastModified": 1700000000}},
}

def table(name, doc):
    out = io.StringIO()
    TableFormatter(types.SimpleNamespace(color='off', query=None))(name, doc, out)
    return out.getvalue()

def text(doc):
    out = io.StringIO()
    format_text(doc, out)
    return out.getvalue()

cases = [{"name": n, "document": d, "text": text(d), "table": table(n, d)} for n, d in documents.items()]
path = os.path.join(os.path.dirname(__file__), "..", "Tests", "CLIOutputTests", "vectors.json")
with open(path, "w") as f:
    json.dump({"cases": cases, "generator": "scripts/gen-output-vectors.py"}, f, indent=1, sort_keys=True)
    f.write("\n")
print(f"{len(cases)} cases written to {os.path.normpath(path)}")
