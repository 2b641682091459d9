"""The S3 upload sensor against a real S3-compatible server (moto's), with a per-test lake."""

from __future__ import annotations

import datetime as dt
import io
import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.client import BaseClient
from moto.server import ThreadedMotoServer

from orchestration.defs.s3_sensor import s3_raw_upload_sensor
from orchestration.ingest.s3_lake import (
    DEFAULT_PREFIX,
    LOOKBACK,
    RefusedKey,
    S3Cursor,
    S3LakeConfig,
    S3LakeError,
    S3Object,
    download_to_lake,
    evaluate_s3_uploads,
    partition_key_for,
    plan,
)

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@dataclass
class Lake:
    client: BaseClient
    bucket: str
    raw_dir: Path

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body)


@pytest.fixture
def lake(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lake:
    bucket = f"historian-{uuid.uuid4().hex[:12]}"  # the server is shared by the module's tests
    monkeypatch.setenv("AWS_S3_ENDPOINT", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("LAKEHOUSE_S3_BUCKET", bucket)
    monkeypatch.delenv("LAKEHOUSE_S3_PREFIX", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    raw_dir = tmp_path / "lake" / "raw"
    monkeypatch.setenv("LAKEHOUSE_RAW_DIR", str(raw_dir))
    config = S3LakeConfig.from_env()
    assert config is not None
    client = config.client()
    client.create_bucket(Bucket=bucket)
    return Lake(client, bucket, raw_dir)


def _parquet(day: str, site: str, value: float) -> bytes:
    ts = dt.datetime.fromisoformat(f"{day}T12:00:00+00:00")
    table = pa.table(
        {
            "batch_id": pa.array([f"B-{day}"], pa.string()),
            "site": pa.array([site], pa.string()),
            "equipment_id": pa.array(["BR-01"], pa.string()),
            "ts": pa.array([ts], pa.timestamp("us", tz="UTC")),
            "tag": pa.array(["temperature"], pa.string()),
            "value": pa.array([value], pa.float64()),
            "unit": pa.array(["degC"], pa.string()),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _tick(cursor: str | None = None) -> dg.SensorResult | dg.SkipReason:
    context = dg.build_sensor_context(cursor=cursor, instance=dg.DagsterInstance.ephemeral())
    return s3_raw_upload_sensor(context)


def _runs(result: dg.SensorResult) -> list[tuple[str, str]]:
    return [(r.partition_key, r.run_key) for r in result.run_requests or []]


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_new_days_then_nothing_then_a_rewrite(lake: Lake):
    uploads = {
        "date=2025-03-01/part-A.parquet": _parquet("2025-03-01", "A", 1.0),
        "date=2025-03-01/part-B.parquet": _parquet("2025-03-01", "B", 2.0),
        "date=2025-03-02/part-A.parquet": _parquet("2025-03-02", "A", 3.0),
    }
    for name, body in uploads.items():
        lake.put(DEFAULT_PREFIX + name, body)

    first = _tick()
    assert [day for day, _ in _runs(first)] == ["2025-03-01", "2025-03-02"]
    assert _files(lake.raw_dir) == sorted(Path(name) for name in uploads)
    for name, body in uploads.items():
        assert (lake.raw_dir / name).read_bytes() == body
    # The same tick again (its cursor was lost) asks for the same run keys: Dagster adds no run.
    assert _runs(_tick()) == _runs(first)

    second = _tick(first.cursor)
    assert _runs(second) == []
    assert second.skip_reason is not None and "no new objects" in second.skip_reason.skip_message

    rewritten = _parquet("2025-03-01", "B", 20.0)
    lake.put(DEFAULT_PREFIX + "date=2025-03-01/part-B.parquet", rewritten)
    third = _tick(second.cursor)
    assert [day for day, _ in _runs(third)] == ["2025-03-01"]
    assert _runs(third)[0][1] != dict(_runs(first))["2025-03-01"]
    assert (lake.raw_dir / "date=2025-03-01/part-B.parquet").read_bytes() == rewritten
    assert _files(lake.raw_dir) == sorted(Path(name) for name in uploads)  # no temporary files left
    assert _runs(_tick(third.cursor)) == []


def test_refused_keys_are_reported_once_and_never_written(lake: Lake, tmp_path: Path):
    bad_keys = [
        DEFAULT_PREFIX + "date=2025-03-01/../../../../escape.parquet",
        DEFAULT_PREFIX + "date=2025-03-01/sub/part-A.parquet",
        DEFAULT_PREFIX + "date=2024-02-30/part-A.parquet",
        DEFAULT_PREFIX + "date=2025-03-01/notes.csv",
        DEFAULT_PREFIX + "date=2025-03-01\\part-A.parquet",
        DEFAULT_PREFIX + "part-A.parquet",
    ]
    for key in bad_keys:
        lake.put(key, _parquet("2025-03-01", "A", 1.0))
    lake.put("elsewhere/date=2025-03-01/part-A.parquet", _parquet("2025-03-01", "A", 1.0))  # outside the prefix

    first = _tick()
    assert _runs(first) == []
    for key in bad_keys:
        assert key in first.skip_reason.skip_message
    assert "elsewhere/" not in first.skip_reason.skip_message
    assert _files(tmp_path) == []  # nothing in the lake, nothing beside it

    good = _parquet("2025-03-03", "A", 5.0)
    lake.put(DEFAULT_PREFIX + "date=2025-03-03/part-A.parquet", good)
    second = _tick(first.cursor)
    assert [day for day, _ in _runs(second)] == ["2025-03-03"]  # the refused keys are not reported again
    assert _files(tmp_path) == [Path("lake/raw/date=2025-03-03/part-A.parquet")]


def test_day_outside_the_partitions_is_copied_without_a_run(lake: Lake):
    lake.put(DEFAULT_PREFIX + "date=2019-06-01/part-A.parquet", _parquet("2019-06-01", "A", 1.0))
    result = _tick()
    assert _runs(result) == []
    assert "2019-06-01" in result.skip_reason.skip_message
    assert (lake.raw_dir / "date=2019-06-01/part-A.parquet").exists()
    assert _runs(_tick(result.cursor)) == []


def test_no_bucket_configured_skips(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("LAKEHOUSE_S3_BUCKET", raising=False)
    result = _tick()
    assert isinstance(result, dg.SkipReason)
    assert "LAKEHOUSE_S3_BUCKET" in result.skip_message


def test_unreachable_endpoint_names_endpoint_and_bucket(lake: Lake, monkeypatch: pytest.MonkeyPatch):
    endpoint = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    monkeypatch.setenv("AWS_S3_ENDPOINT", endpoint)
    with pytest.raises(S3LakeError, match=f"cannot list s3://{lake.bucket}/{DEFAULT_PREFIX} at {endpoint}"):
        _tick()


def test_endpoint_must_be_a_url(lake: Lake, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_S3_ENDPOINT", "minio:9000")
    with pytest.raises(S3LakeError, match="AWS_S3_ENDPOINT must be an http:// or https:// URL"):
        _tick()


def test_missing_bucket_says_so(lake: Lake, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LAKEHOUSE_S3_BUCKET", "no-such-bucket")
    with pytest.raises(S3LakeError, match="s3://no-such-bucket/.*NoSuchBucket.*LAKEHOUSE_S3_BUCKET"):
        _tick()


def test_evaluation_copies_through_the_pure_function(lake: Lake):
    good, bad = DEFAULT_PREFIX + "date=2025-03-05/part-A.parquet", DEFAULT_PREFIX + "date=2025-03-05/x y.parquet"
    lake.put(good, _parquet("2025-03-05", "A", 1.0))
    lake.put(bad, b"bad name")
    config = S3LakeConfig.from_env()
    days, cursor, refused = evaluate_s3_uploads(config, lake.raw_dir, None)
    assert [(d.partition_key, d.keys) for d in days] == [("2025-03-05", [good])]
    assert [r.key for r in refused] == [bad]
    assert evaluate_s3_uploads(config, lake.raw_dir, cursor) == ([], cursor, [])


def test_a_failed_download_leaves_no_parquet(tmp_path: Path):
    folder = tmp_path / "date=2025-03-01"

    class Interrupted:
        def download_fileobj(self, bucket: str, key: str, out: io.BufferedWriter) -> None:
            out.write(b"PAR1 half a file")
            assert not list(folder.glob("*.parquet"))  # while downloading, only a hidden .part exists
            raise ConnectionResetError("connection lost")

    with pytest.raises(ConnectionResetError):
        key = "raw/bioreactor/date=2025-03-01/part-A.parquet"
        download_to_lake(Interrupted(), "bucket", key, tmp_path)  # type: ignore[arg-type]
    assert _files(tmp_path) == []


@pytest.mark.parametrize(
    ("prefix", "key", "expected"),
    [
        ("raw/bioreactor/", "raw/bioreactor/date=2025-03-01/part-A.parquet", "2025-03-01"),
        ("raw/bioreactor/", "raw/bioreactor/date=2024-02-29/p_1.v2.parquet", "2024-02-29"),
        ("", "date=2025-03-01/part-A.parquet", "2025-03-01"),
        ("raw/bioreactor/", "raw/bioreactor/date=2023-02-29/part-A.parquet", "not a calendar date"),
        ("raw/bioreactor/", "raw/bioreactor/date=2024-3-01/part-A.parquet", "is not date=YYYY-MM-DD"),
        ("raw/bioreactor/", "raw/bioreactor/date=2025-03-01/../part-A.parquet", "contains '..'"),
        ("raw/bioreactor/", "raw/bioreactor/x/date=2025-03-01/part-A.parquet", "no other folders"),
        ("raw/bioreactor/", "/raw/bioreactor/date=2025-03-01/part-A.parquet", "not under the prefix"),
        ("", "/date=2025-03-01/part-A.parquet", "absolute path"),
        ("raw/bioreactor/", "raw/bioreactor/date=2025-03-01/part-A.csv", "not a plain <name>.parquet"),
        ("raw/bioreactor/", "raw/bioreactor/date=2025-03-01/.part-A.parquet", "not a plain <name>.parquet"),
        ("raw/bioreactor/", "raw/bioreactor/date=2025-03-01/", "not a plain <name>.parquet"),
        ("raw/bioreactor/", "raw/bioreactor/date=2025-03-01\\part-A.parquet", "backslash"),
    ],
)
def test_partition_key_for(prefix: str, key: str, expected: str):
    if expected[0].isdigit():
        assert partition_key_for(key, prefix) == expected
    else:
        with pytest.raises(RefusedKey, match=re.escape(expected)):
            partition_key_for(key, prefix)


T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def _obj(name: str, minutes: float, etag: str = "e1") -> S3Object:
    return S3Object(f"raw/bioreactor/date=2025-03-01/{name}.parquet", etag, T0 + dt.timedelta(minutes=minutes))


def test_cursor_catches_late_uploads_within_the_lookback():
    batch, cursor = plan([_obj("a", 0), _obj("b", 10)], S3Cursor("src"))
    assert [o.key[-9:] for o in batch] == ["a.parquet", "b.parquet"]
    # A multipart upload started before `b` but listed only now is still new; older ones are settled.
    late = _obj("late", 5)
    too_late = _obj("too_late", 10 - LOOKBACK.total_seconds() / 60 - 1)
    batch, cursor = plan([_obj("a", 0), _obj("b", 10), late, too_late], S3Cursor.parse(cursor.dump(), "src"))
    assert batch == [late]
    assert plan([_obj("a", 0), _obj("b", 10, etag="e2"), late], cursor)[0] == [_obj("b", 10, etag="e2")]
    # Another bucket or prefix starts from scratch.
    assert S3Cursor.parse(cursor.dump(), "other") == S3Cursor("other")


def test_a_backlog_is_copied_over_several_ticks_without_loss_or_repeats():
    objects = [_obj(f"f{i:02d}", i) for i in range(25)]
    cursor, handled = S3Cursor("src"), []
    for _ in range(3):
        batch, cursor = plan(objects, cursor, limit=10)
        handled += batch
    assert handled == objects
    assert plan(objects, cursor, limit=10)[0] == []
