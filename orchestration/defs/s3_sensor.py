"""`s3_raw_upload_sensor`: historian uploads in an S3/MinIO bucket -> copied into the lake ->
runs for exactly their days. Off by default: turn it on in the UI or with `dagster sensor start`."""

import dagster as dg

from lakehouse_core.settings import get_settings
from orchestration.defs.jobs import partition_pipeline
from orchestration.ingest.s3_lake import BUCKET_ENV, ENDPOINT_ENV, S3LakeConfig, evaluate_s3_uploads
from orchestration.partitions import daily_partitions


@dg.sensor(
    name="s3_raw_upload_sensor",
    job=partition_pipeline,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        f"Copies new or rewritten <prefix>date=YYYY-MM-DD/<name>.parquet objects from the bucket {BUCKET_ENV} "
        "into the raw lake and runs the pipeline for their days."
    ),
)
def s3_raw_upload_sensor(context: dg.SensorEvaluationContext):
    config = S3LakeConfig.from_env()
    if config is None:
        return dg.SkipReason(f"set {BUCKET_ENV} (and {ENDPOINT_ENV} for MinIO) to watch a bucket")
    raw_dir = get_settings().raw_dir
    result = evaluate_s3_uploads(config, raw_dir, context.cursor)
    notes = [f"refused {refusal.key}: {refusal.reason}" for refusal in result.refused]
    runs = []
    for day in result.days:
        context.log.info(f"copied {len(day.keys)} objects for {day.partition_key} into {raw_dir}")
        # A day outside the (shared) partitions would fail this tick and every tick after it.
        if daily_partitions.has_partition_key(day.partition_key):
            runs.append(dg.RunRequest(partition_key=day.partition_key, run_key=day.run_key))
        else:
            notes.append(f"copied {day.partition_key}, but it is not a daily partition: no run requested")
    for note in notes:
        context.log.warning(note)
    if runs:
        return dg.SensorResult(run_requests=runs, cursor=result.cursor)
    return dg.SensorResult(skip_reason="; ".join(notes) or f"no new objects in {config.where}", cursor=result.cursor)
