#!/bin/sh
# Entry point of both Dagster services (dagster-webserver, dagster-daemon): the shared instance in
# $DAGSTER_HOME is prepared first (the template dagster.yaml copied in once, its run, event and
# schedule storage pointed at the Postgres of LAKEHOUSE_PG_URL, the database created if missing;
# idempotent), and the MinIO/S3 bucket the S3 sensor watches is created if missing. Then the service.
set -eu
python - <<'PY'
from lakehouse_core.settings import get_settings
from orchestration.services.dagster_dev import prepare_dagster_home

settings = get_settings()
prepare_dagster_home(settings)
if settings.s3_bucket and settings.s3_endpoint:
    import boto3
    from botocore.exceptions import ClientError

    s3 = boto3.client("s3", endpoint_url=settings.s3_endpoint, region_name=settings.aws_region or "us-east-1")
    try:
        s3.head_bucket(Bucket=settings.s3_bucket)
    except ClientError:
        s3.create_bucket(Bucket=settings.s3_bucket)
PY
exec "$@"
