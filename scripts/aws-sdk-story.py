#!/usr/bin/env python3
"""The seed's cross-account story through boto3, unmodified, against a local crml cluster.

Account B (the owner) trains a lookalike model and shares it; account A starts an audience
generation job on B's configured audience model; each reads the job through its own ARN; A
deletes it and B's copy goes too; a request signed with a wrong secret is refused.

    swift run crml cluster up --dir .crml
    eval "$(swift run crml cluster env --write --dir .crml)"
    python3 scripts/aws-sdk-story.py            # pip install boto3 first: it is not part of swift test

Exit status 0 when every step saw what it expected, 1 otherwise.
"""
import argparse
import os
import sys
import time

import boto3
import botocore.exceptions

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--dir", default=os.environ.get("CRML_DIR", ".crml"), help="the cluster's directory (default .crml)")
parser.add_argument("--owner", default="222222222222", help="the account that trains and shares (B)")
parser.add_argument("--submitter", default="111111111111", help="the account that starts the job (A)")
parser.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "seeds", "data", "sample"))
args = parser.parse_args()
os.environ.setdefault("AWS_CONFIG_FILE", os.path.join(args.dir, "aws", "config"))
os.environ.setdefault("AWS_SHARED_CREDENTIALS_FILE", os.path.join(args.dir, "aws", "credentials"))
if not os.path.exists(os.environ["AWS_CONFIG_FILE"]):
    sys.exit(f"no aws-cli profiles in {os.environ['AWS_CONFIG_FILE']}: run  crml cluster env --write --dir {args.dir}  first")

B = boto3.Session(profile_name=args.owner)
A = boto3.Session(profile_name=args.submitter)
region = B.region_name
failed = False


def step(text):
    print(f"-- {text}", flush=True)


def check(ok, text):
    global failed
    print(f"   {'ok  ' if ok else 'FAIL'} {text}", flush=True)
    failed |= not ok


def wait_for(what, call, done, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        value = call()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not happen within {timeout} s (last: {value})")
        time.sleep(0.2)  # polling with the deadline above


def error_code(call):
    try:
        call()
        return None
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]


trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cleanrooms-ml.amazonaws.com"},"Action":"sts:AssumeRole"}]}'

step(f"B ({args.owner}) puts interaction data in S3 and describes it in Glue")
s3b, glueb, iamb, mlb = B.client("s3"), B.client("glue"), B.client("iam"), B.client("cleanroomsml")
s3b.create_bucket(Bucket="b-data")
with open(os.path.join(args.data, "interactions.csv"), "rb") as f:
    s3b.put_object(Bucket="b-data", Key="interactions/interactions.csv", Body=f.read())
glueb.create_database(DatabaseInput={"Name": "ads"})
glueb.create_table(DatabaseName="ads", TableInput={"Name": "interactions", "StorageDescriptor": {
    "Location": "s3://b-data/interactions/",
    "Columns": [{"Name": "user_id", "Type": "string"}, {"Name": "item_id", "Type": "string"}, {"Name": "timestamp", "Type": "bigint"}]}})
role_b = iamb.create_role(RoleName="cleanrooms-ml-access", AssumeRolePolicyDocument=trust)["Role"]["Arn"]

step("B trains a model, configures it and shares it with A")
dataset = mlb.create_training_dataset(name="ads-interactions", roleArn=role_b, trainingData=[{
    "type": "INTERACTIONS",
    "inputConfig": {"schema": [{"columnName": "user_id", "columnTypes": ["USER_ID"]},
                               {"columnName": "item_id", "columnTypes": ["ITEM_ID"]},
                               {"columnName": "timestamp", "columnTypes": ["TIMESTAMP"]}],
                    "dataSource": {"glueDataSource": {"databaseName": "ads", "tableName": "interactions"}}}}])["trainingDatasetArn"]
model = mlb.create_audience_model(name="ads-model", trainingDatasetArn=dataset)["audienceModelArn"]
status = wait_for("training", lambda: mlb.get_audience_model(audienceModelArn=model)["status"], lambda s: s in ("ACTIVE", "CREATE_FAILED"))
check(status == "ACTIVE", f"model {model} is {status}")
s3b.create_bucket(Bucket="b-audiences")
cam = mlb.create_configured_audience_model(
    name="ads-cam", audienceModelArn=model, sharedAudienceMetrics=["ALL"],
    audienceSizeConfig={"audienceSizeType": "ABSOLUTE", "audienceSizeBins": [100, 300]},
    outputConfig={"roleArn": role_b, "destination": {"s3Destination": {"s3Uri": "s3://b-audiences/exports"}}})["configuredAudienceModelArn"]
policy = ('{"Version": "2012-10-17", "Statement": [{"Sid": "share", "Effect": "Allow", "Principal": {"AWS": ["%s"]}, '
          '"Action": ["cleanrooms-ml:StartAudienceGenerationJob"], '
          '"Resource": ["%s", "arn:aws:cleanrooms-ml:%s:%s:audience-generation-job/*"]}]}') % (args.submitter, cam, region, args.owner)
mlb.put_configured_audience_model_policy(configuredAudienceModelArn=cam, configuredAudienceModelPolicy=policy)
check(True, f"CAM {cam} shared with {args.submitter}")

step(f"A ({args.submitter}) puts a seed in its own S3 and starts a job on B's CAM")
s3a, iama, mla = A.client("s3"), A.client("iam"), A.client("cleanroomsml")
role_a = iama.create_role(RoleName="seed-reader", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
s3a.create_bucket(Bucket="a-seeds")
with open(os.path.join(args.data, "seed.csv"), "rb") as f:
    s3a.put_object(Bucket="a-seeds", Key="seed/seed.csv", Body=f.read())
job_a = mla.start_audience_generation_job(name="a-job", configuredAudienceModelArn=cam,
                                          seedAudience={"dataSource": {"s3Uri": "s3://a-seeds/seed/"}, "roleArn": role_a})["audienceGenerationJobArn"]
job_b = job_a.replace(f":{args.submitter}:", f":{args.owner}:")
check(f":{args.submitter}:" in job_a, f"A's job ARN {job_a}")

step("each reads the job through its own ARN")
a_view = wait_for("A's job", lambda: mla.get_audience_generation_job(audienceGenerationJobArn=job_a), lambda j: j["status"] in ("ACTIVE", "CREATE_FAILED"))
b_view = wait_for("B's copy", lambda: mlb.get_audience_generation_job(audienceGenerationJobArn=job_b), lambda j: j["status"] in ("ACTIVE", "CREATE_FAILED"))
check(a_view["status"] == "ACTIVE" and a_view["name"] == "a-job", f"A sees {a_view['name']} {a_view['status']}")
check(b_view["status"] == "ACTIVE" and b_view["name"] == f"{args.submitter}-a-job" and b_view.get("startedBy") == args.submitter
      and "seedAudience" not in b_view, f"B sees {b_view['name']} {b_view['status']}, started by {b_view.get('startedBy')}, no seed location")
check(error_code(lambda: mla.get_audience_generation_job(audienceGenerationJobArn=job_b)) == "AccessDeniedException", "A cannot read B's ARN")

step("A deletes the job; B's copy goes too")
mla.delete_audience_generation_job(audienceGenerationJobArn=job_a)
gone = wait_for("B's copy to go", lambda: error_code(lambda: mlb.get_audience_generation_job(audienceGenerationJobArn=job_b)),
                lambda code: code is not None, timeout=60)
check(gone == "ResourceNotFoundException", f"B's copy is gone ({gone})")
check(error_code(lambda: mla.get_audience_generation_job(audienceGenerationJobArn=job_a)) == "ResourceNotFoundException", "A's is gone")

step("a request signed with the wrong secret is refused")
creds = A.get_credentials()
wrong = boto3.Session(aws_access_key_id=creds.access_key, aws_secret_access_key="not-" + creds.secret_key, region_name=region)
endpoint = A.client("cleanroomsml").meta.endpoint_url
code = error_code(lambda: wrong.client("cleanroomsml", endpoint_url=endpoint).list_audience_generation_jobs())
check(code == "InvalidSignatureException", f"cleanroomsml refuses it: {code}")
code = error_code(lambda: wrong.client("iam", endpoint_url=endpoint).list_users())
check(code == "SignatureDoesNotMatch", f"iam refuses it: {code}")

print("\nall steps as expected" if not failed else "\nSOME STEPS FAILED")
sys.exit(1 if failed else 0)
