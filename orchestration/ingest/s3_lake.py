"""Copy historian Parquet uploads from an S3-compatible bucket (MinIO on site, AWS S3 in the
cloud) into the local lake, and say which days they belong to.

Objects are expected at `<prefix>date=YYYY-MM-DD/<name>.parquet` and land, with the same
layout, at `<raw_dir>/date=YYYY-MM-DD/<name>.parquet`. Any other key is refused, never copied.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

from lakehouse_core.settings import get_settings
from orchestration.ingest.lake_scan import day_of_folder
from orchestration.ingest.raw_files import UnsafePathError, is_within

# boto3 is imported where S3 is used: every Dagster process loads this module (the sensor's
# definition), and most never talk to S3 (~45 ms of imports).
if TYPE_CHECKING:
    from botocore.client import BaseClient

ENDPOINT_ENV = "AWS_S3_ENDPOINT"
BUCKET_ENV = "LAKEHOUSE_S3_BUCKET"
PREFIX_ENV = "LAKEHOUSE_S3_PREFIX"
DEFAULT_PREFIX = "raw/bioreactor/"
DEFAULT_REGION = "us-east-1"

# An upload's LastModified can be older than objects listed before it (a multipart upload
# is stamped when it starts), so objects this much older than the newest one stay watched.
LOOKBACK = dt.timedelta(minutes=15)
# Bounds the cursor (stored by Dagster on every tick) when many objects arrive at once,
# at the cost of a shorter lookback for that burst.
MAX_SEEN = 5000
# A sensor tick has a time limit: a large backlog is copied over several ticks.
MAX_OBJECTS_PER_TICK = 100

_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\.parquet")

# Error codes whose usual cause is a setting the user can fix.
_HINTS = {
    "NoSuchBucket": f"the bucket does not exist; check {BUCKET_ENV}",
    "InvalidAccessKeyId": "the credentials were rejected; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    "SignatureDoesNotMatch": "the credentials were rejected; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    "AccessDenied": "access denied; the credentials need s3:ListBucket and s3:GetObject on the bucket",
}


class S3LakeError(RuntimeError):
    """S3 could not be reached or refused a request; the message names the endpoint and bucket."""


class RefusedKey(ValueError):
    """An object key that does not map to a file of the lake; the message says why."""


@dataclass(frozen=True)
class S3LakeConfig:
    bucket: str
    prefix: str = DEFAULT_PREFIX
    endpoint: str | None = None  # None: AWS S3
    region: str = DEFAULT_REGION

    @classmethod
    def from_env(cls) -> S3LakeConfig | None:
        """The configuration from the environment, or None when no bucket is set (sensor disabled).

        Credentials are not read here: boto3 finds AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
        (or a profile, or an instance role) itself, so they never pass through this code.
        """
        settings = get_settings()
        bucket = (settings.s3_bucket or "").strip()
        if not bucket:
            return None
        endpoint = (settings.s3_endpoint or "").strip() or None
        if endpoint and not endpoint.startswith(("http://", "https://")):
            raise S3LakeError(f"{ENDPOINT_ENV} must be an http:// or https:// URL, got {endpoint!r}")
        prefix = settings.s3_prefix.strip().lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return cls(bucket=bucket, prefix=prefix, endpoint=endpoint, region=settings.aws_region or DEFAULT_REGION)

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix} at {self.endpoint or f'AWS S3 ({self.region})'}"

    def client(self) -> BaseClient:
        import boto3
        from botocore.config import Config as BotoConfig

        # A fresh session per call: credentials changed in the environment are picked up.
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            config=BotoConfig(
                # MinIO serves buckets as paths, not as virtual hosts.
                s3={"addressing_style": "path" if self.endpoint else "auto"},
                # Fail a tick within seconds when the endpoint is down, not after minutes.
                connect_timeout=5,
                read_timeout=60,
                retries={"mode": "standard", "max_attempts": 3},
            ),
        )


@dataclass(frozen=True)
class S3Object:
    key: str
    etag: str
    last_modified: dt.datetime


@dataclass(frozen=True)
class S3Cursor:
    """Objects of `source` modified before `since` are settled. `seen` holds the ETag of every
    object modified at or after `since` that was already handled: a new key or ETag there is new."""

    source: str
    since: dt.datetime | None = None
    seen: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: str | None, source: str) -> S3Cursor:
        """The cursor stored by the last tick; a fresh one if it was for another bucket or prefix."""
        data = json.loads(raw) if raw else {}
        if data.get("source") != source:
            return cls(source)
        since = dt.datetime.fromisoformat(data["since"]) if data["since"] else None
        return cls(source, since, dict(data["seen"]))

    def dump(self) -> str:
        since = self.since.isoformat() if self.since else None
        return json.dumps({"source": self.source, "since": since, "seen": dict(sorted(self.seen.items()))})

    def is_new(self, obj: S3Object) -> bool:
        if self.since is not None and obj.last_modified < self.since:
            return False
        return self.seen.get(obj.key) != obj.etag


class Refusal(NamedTuple):
    key: str
    reason: str


class DayRun(NamedTuple):
    partition_key: str
    run_key: str
    keys: list[str]  # the objects copied for this day


class S3Evaluation(NamedTuple):
    days: list[DayRun]  # sorted by partition key
    cursor: str
    refused: list[Refusal]


def lake_path_for(key: str) -> PurePosixPath:
    """`date=YYYY-MM-DD/<name>.parquet`, the lake path of an object, from the end of its key."""
    if "\\" in key:
        raise RefusedKey("contains a backslash")
    if key.startswith("/"):
        raise RefusedKey("is an absolute path")
    if ".." in key:
        raise RefusedKey("contains '..'")
    parts = key.split("/")
    if len(parts) < 2:
        raise RefusedKey("is not inside a date=YYYY-MM-DD folder")
    folder, name = parts[-2:]
    try:
        day_of_folder(folder)
    except ValueError as exc:
        raise RefusedKey(str(exc)) from None
    if not _FILE_NAME.fullmatch(name):
        raise RefusedKey(f"file name {name!r} is not a plain <name>.parquet")
    return PurePosixPath(folder, name)


def partition_key_for(key: str, prefix: str) -> str:
    """The `YYYY-MM-DD` partition of `<prefix>date=YYYY-MM-DD/<name>.parquet`; RefusedKey otherwise."""
    if not key.startswith(prefix):
        raise RefusedKey(f"is not under the prefix {prefix!r}")
    folder = lake_path_for(key).parent.name
    if key[len(prefix) :].count("/") != 1:
        raise RefusedKey(f"expected {prefix}date=YYYY-MM-DD/<name>.parquet, with no other folders")
    return day_of_folder(folder)


def list_objects(client: BaseClient, bucket: str, prefix: str) -> list[S3Object]:
    objects = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            objects.append(S3Object(item["Key"], item["ETag"].strip('"'), item["LastModified"]))
    return objects


def plan(
    objects: Sequence[S3Object], cursor: S3Cursor, limit: int = MAX_OBJECTS_PER_TICK
) -> tuple[list[S3Object], S3Cursor]:
    """The new objects to handle now (oldest first, at most `limit`) and the cursor once they are."""
    fresh = sorted((o for o in objects if cursor.is_new(o)), key=lambda o: (o.last_modified, o.key))
    batch, later = fresh[:limit], fresh[limit:]
    later_keys = {o.key for o in later}
    handled = [
        o for o in objects if o.key not in later_keys and (cursor.since is None or o.last_modified >= cursor.since)
    ]
    if not handled:
        return batch, cursor
    newest_first = sorted((o.last_modified for o in handled), reverse=True)
    since = newest_first[0] - LOOKBACK
    if len(newest_first) > MAX_SEEN:
        since = max(since, newest_first[MAX_SEEN - 1])
    if later:
        since = min(since, later[0].last_modified)  # what is not handled yet must stay new
    if cursor.since is not None:
        since = max(since, cursor.since)  # what was settled stays settled
    seen = {o.key: o.etag for o in handled if o.last_modified >= since}
    return batch, S3Cursor(cursor.source, since, seen)


def run_key_for(day: str, objects: Sequence[S3Object]) -> str:
    """Same objects, same key (a repeated tick adds no run); a rewrite changes ETag and time."""
    versions = "\n".join(sorted(f"{o.key}\0{o.etag}\0{o.last_modified.isoformat()}" for o in objects))
    return f"s3:{day}:{hashlib.sha256(versions.encode()).hexdigest()[:16]}"


def download_to_lake(client: BaseClient, bucket: str, key: str, raw_dir: Path) -> Path:
    """Copy one object to `<raw_dir>/date=YYYY-MM-DD/<name>.parquet`.

    The bytes go to a hidden `.part` file in the target folder first and are renamed into place
    only once complete, so readers of the lake never see a half-written `.parquet`.
    """
    target = raw_dir / lake_path_for(key)
    if not is_within(target, raw_dir):
        raise UnsafePathError(f"{key} would be written to {target.resolve()}, outside the lake {raw_dir}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    try:
        with partial.open("xb") as out:
            client.download_fileobj(bucket, key, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)  # only left behind when the download failed
    return target


@contextmanager
def _explained(config: S3LakeConfig, action: str) -> Iterator[None]:
    """Turn botocore errors into one line naming the endpoint, the bucket and the likely fix."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    try:
        yield
    except NoCredentialsError:
        raise S3LakeError(
            f"cannot {action} {config.where}: no credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        ) from None
    except EndpointConnectionError as exc:
        raise S3LakeError(f"cannot {action} {config.where}: {exc}; check {ENDPOINT_ENV}") from exc
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "unknown error")
        detail = _HINTS.get(code) or error.get("Message") or str(exc)
        raise S3LakeError(f"cannot {action} {config.where}: {code}: {detail}") from exc
    except BotoCoreError as exc:
        raise S3LakeError(f"cannot {action} {config.where}: {exc}") from exc


def evaluate_s3_uploads(config: S3LakeConfig, raw_dir: Path, cursor: str | None) -> S3Evaluation:
    """List the objects new since `cursor`, copy the acceptable ones into the lake, and return
    the days they belong to (with a run key each), the next cursor and the refused keys."""
    client = config.client()
    with _explained(config, "list"):
        objects = list_objects(client, config.bucket, config.prefix)
    batch, next_cursor = plan(objects, S3Cursor.parse(cursor, config.where))
    copied: dict[str, list[S3Object]] = defaultdict(list)
    refused: list[Refusal] = []
    for obj in batch:
        try:
            day = partition_key_for(obj.key, config.prefix)
        except RefusedKey as exc:
            refused.append(Refusal(obj.key, str(exc)))
            continue
        with _explained(config, f"download {obj.key} from"):
            download_to_lake(client, config.bucket, obj.key, raw_dir)
        copied[day].append(obj)
    days = [DayRun(day, run_key_for(day, objs), [o.key for o in objs]) for day, objs in sorted(copied.items())]
    return S3Evaluation(days, next_cursor.dump(), refused)
