"""The botocore models in shared/api this project embeds, by the service name its nodes use.
Shared by gen-service-models.py and gen-protocol-fixtures.py."""
MODELS = {
    "cleanroomsml": "cleanroomsml-2023-09-06.service.json",
    "cleanrooms": "cleanrooms-2022-02-17.collaboration-subset.service.json",
    "iam": "iam-2010-05-08.subset.service.json",
    "sts": "sts-2011-06-15.subset.service.json",
    "s3": "s3-2006-03-01.subset.service.json",
    "glue": "glue-2017-03-31.subset.service.json",
    "cloudtrail": "cloudtrail-2013-11-01.subset.service.json",
    "organizations": "organizations-2016-11-28.subset.service.json",
}
