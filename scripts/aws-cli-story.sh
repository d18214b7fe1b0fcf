#!/bin/sh
# The seed's cross-account story with aws-cli, unmodified, against a local crml cluster: B trains a
# model and shares it, A starts a job on it, both read it through their own ARN, A deletes it and
# B's copy goes, and a request signed with a wrong secret is refused. README shows these commands.
#
#   crml cluster up && sh scripts/aws-cli-story.sh        (aws-cli installed by you: pip install awscli)
set -eu
CRML=${CRML:-crml}
DATA=${DATA:-seeds/data/sample}
eval "$($CRML cluster env --write)"   # aws-cli profiles 111111111111, 222222222222, … in .crml/aws/
A=111111111111 B=222222222222
TRUST='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cleanrooms-ml.amazonaws.com"},"Action":"sts:AssumeRole"}]}'

# B puts interaction data in its S3, describes it in Glue, trains a model and shares it with A.
aws --profile $B s3api create-bucket --bucket b-data
aws --profile $B s3api put-object --bucket b-data --key interactions/interactions.csv --body $DATA/interactions.csv
aws --profile $B glue create-database --database-input Name=ads
aws --profile $B glue create-table --database-name ads --table-input '{"Name": "interactions", "StorageDescriptor": {"Location": "s3://b-data/interactions/", "Columns": [{"Name": "user_id", "Type": "string"}, {"Name": "item_id", "Type": "string"}, {"Name": "timestamp", "Type": "bigint"}]}}'
ROLE_B=$(aws --profile $B iam create-role --role-name cleanrooms-ml-access --assume-role-policy-document "$TRUST" --query Role.Arn --output text)
DATASET=$(aws --profile $B cleanroomsml create-training-dataset --name ads-interactions --role-arn "$ROLE_B" --query trainingDatasetArn --output text \
  --training-data '[{"type": "INTERACTIONS", "inputConfig": {"schema": [{"columnName": "user_id", "columnTypes": ["USER_ID"]}, {"columnName": "item_id", "columnTypes": ["ITEM_ID"]}, {"columnName": "timestamp", "columnTypes": ["TIMESTAMP"]}], "dataSource": {"glueDataSource": {"databaseName": "ads", "tableName": "interactions"}}}}]')
MODEL=$(aws --profile $B cleanroomsml create-audience-model --name ads-model --training-dataset-arn "$DATASET" --query audienceModelArn --output text)
until [ "$(aws --profile $B cleanroomsml get-audience-model --audience-model-arn "$MODEL" --query status --output text)" = ACTIVE ]; do sleep 1; done
aws --profile $B s3api create-bucket --bucket b-audiences
CAM=$(aws --profile $B cleanroomsml create-configured-audience-model --name ads-cam --audience-model-arn "$MODEL" --shared-audience-metrics ALL \
  --audience-size-config audienceSizeType=ABSOLUTE,audienceSizeBins=100,300 --query configuredAudienceModelArn --output text \
  --output-config "{\"roleArn\": \"$ROLE_B\", \"destination\": {\"s3Destination\": {\"s3Uri\": \"s3://b-audiences/exports\"}}}")
aws --profile $B cleanroomsml put-configured-audience-model-policy --configured-audience-model-arn "$CAM" --configured-audience-model-policy \
  "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Principal\": {\"AWS\": [\"$A\"]}, \"Action\": [\"cleanrooms-ml:StartAudienceGenerationJob\"], \"Resource\": [\"$CAM\", \"arn:aws:cleanrooms-ml:us-west-1:$B:audience-generation-job/*\"]}]}"

# A puts a seed in its own S3 and starts a job on B's CAM; the job has an ARN in each account.
ROLE_A=$(aws --profile $A iam create-role --role-name seed-reader --assume-role-policy-document "$TRUST" --query Role.Arn --output text)
aws --profile $A s3api create-bucket --bucket a-seeds
aws --profile $A s3api put-object --bucket a-seeds --key seed/seed.csv --body $DATA/seed.csv
JOB_A=$(aws --profile $A cleanroomsml start-audience-generation-job --name a-job --configured-audience-model-arn "$CAM" \
  --seed-audience "dataSource={s3Uri=s3://a-seeds/seed/},roleArn=$ROLE_A" --query audienceGenerationJobArn --output text)
JOB_B=$(echo "$JOB_A" | sed "s/:$A:/:$B:/")
until [ "$(aws --profile $A cleanroomsml get-audience-generation-job --audience-generation-job-arn "$JOB_A" --query status --output text)" = ACTIVE ]; do sleep 1; done
aws --profile $A cleanroomsml get-audience-generation-job --audience-generation-job-arn "$JOB_A" --query '[name,status,seedAudience.dataSource.s3Uri]' --output text
aws --profile $B cleanroomsml get-audience-generation-job --audience-generation-job-arn "$JOB_B" --query '[name,status,startedBy]' --output text

# A deletes; B's copy goes too.
aws --profile $A cleanroomsml delete-audience-generation-job --audience-generation-job-arn "$JOB_A"
until ! aws --profile $B cleanroomsml get-audience-generation-job --audience-generation-job-arn "$JOB_B" >/dev/null 2>&1; do sleep 0.2; done
aws --profile $B cleanroomsml get-audience-generation-job --audience-generation-job-arn "$JOB_B" || echo "gone from B too"

# A wrong secret is refused.
AWS_SECRET_ACCESS_KEY=wrong AWS_ACCESS_KEY_ID=$(aws configure get aws_access_key_id --profile $A) AWS_ENDPOINT_URL=$(aws configure get endpoint_url --profile $A) \
  AWS_DEFAULT_REGION=us-west-1 aws cleanroomsml list-audience-generation-jobs || echo "refused: the signature does not match"
