"""raw_file_sensor (on a real lake folder) and the nightly schedule's partition across DST."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster._utils.schedules import cron_string_iterator

from orchestration.defs.file_sensor import raw_file_sensor
from orchestration.defs.jobs import nightly_pipeline, yesterday_in_london
from orchestration.ingest.lake_scan import LakeCursor, lake_days, scan_lake


def _write(path, rows=3):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"batch_id": ["B"] * rows, "value": [1.0] * rows}), path)
    return path


def _tick(cursor=None):
    with dg.DagsterInstance.ephemeral() as instance:
        return raw_file_sensor(dg.build_sensor_context(cursor=cursor, instance=instance))


@pytest.fixture
def lake(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    raw.mkdir()
    monkeypatch.setenv("LAKEHOUSE_RAW_DIR", str(raw))
    return raw


def test_two_new_days_give_exactly_two_run_requests_then_none(lake):
    _write(lake / "date=2025-01-02" / "a.parquet")
    _write(lake / "date=2025-01-02" / "b.parquet")
    _write(lake / "date=2025-01-05" / "a.parquet")
    first = _tick()
    assert sorted(r.partition_key for r in first.run_requests) == ["2025-01-02", "2025-01-05"]
    second = _tick(first.cursor)
    assert isinstance(second, dg.SkipReason)


def test_a_day_already_being_ingested_after_its_files_arrived_is_not_requested_twice(lake):
    """The S3 sensor copies files in and asks for the day's run itself: no second run."""
    _write(lake / "date=2025-01-02" / "a.parquet")
    _write(lake / "date=2025-01-03" / "a.parquet")

    @dg.op
    def noop():
        pass

    @dg.job(name="partition_pipeline")
    def stand_in():  # same name as the real job; its content does not matter here
        noop()

    with dg.DagsterInstance.ephemeral() as instance:
        stand_in.execute_in_process(instance=instance, tags={"dagster/partition": "2025-01-02"})
        result = raw_file_sensor(dg.build_sensor_context(instance=instance))
    assert [r.partition_key for r in result.run_requests] == ["2025-01-03"]


def test_days_materialized_after_their_files_arrived_are_skipped(lake):
    """Files already loaded by a backfill (e.g. `make demo`) are not run again when the sensor starts."""
    _write(lake / "date=2025-01-02" / "a.parquet")
    _write(lake / "date=2025-01-03" / "a.parquet")
    with dg.DagsterInstance.ephemeral() as instance:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key="raw_bioreactor_data", partition="2025-01-03")
        )
        result = raw_file_sensor(dg.build_sensor_context(instance=instance))
    assert [r.partition_key for r in result.run_requests] == ["2025-01-02"]


def test_a_rewritten_file_requests_its_day_again_and_only_it(lake):
    path = _write(lake / "date=2025-01-02" / "a.parquet")
    _write(lake / "date=2025-01-03" / "a.parquet")
    first = _tick()
    _write(path, rows=5)  # an upload rewrites the file: its ctime moves on
    again = _tick(first.cursor)
    assert [r.partition_key for r in again.run_requests] == ["2025-01-02"]
    assert again.run_requests[0].run_key != first.run_requests[0].run_key


def test_paths_outside_the_lake_and_odd_layouts_are_refused(lake, tmp_path):
    outside = _write(tmp_path / "elsewhere" / "secret.parquet")
    (lake / "date=2025-01-02").mkdir()
    (lake / "date=2025-01-02" / "link.parquet").symlink_to(outside)
    _write(lake / "not-a-date" / "x.parquet")
    _write(lake / "date=2025-02-30" / "x.parquet")  # no such day
    result = scan_lake(lake, LakeCursor())
    assert result.days == []
    assert len(result.refused) == 3
    assert any("outside the lake" in r for r in result.refused)


def test_cursor_round_trips():
    cursor = LakeCursor(123, ["/x/a.parquet"])
    assert LakeCursor.parse(cursor.dump()) == cursor
    assert LakeCursor.parse(None) == LakeCursor()


def test_lake_days_lists_only_valid_day_folders(lake):
    for name in ["date=2025-01-03", "date=2025-01-01", "date=2025-13-01", "misc"]:
        (lake / name).mkdir()
    assert lake_days(lake) == ["2025-01-01", "2025-01-03"]


def test_nightly_schedule_runs_for_yesterday_london_across_both_dst_changes():
    london = ZoneInfo("Europe/London")
    start = dt.datetime(2025, 3, 28, 12, tzinfo=london).timestamp()
    ticks = cron_string_iterator(start, nightly_pipeline.cron_schedule, "Europe/London")
    spring = [next(ticks) for _ in range(4)]
    # 02:00 London every night: 02:00 UTC before the change (29 March), 01:00 UTC from 30 March.
    assert [t.astimezone(dt.UTC).hour for t in spring] == [2, 1, 1, 1]
    keys = []
    for tick in spring:
        request = nightly_pipeline(dg.build_schedule_context(scheduled_execution_time=tick))
        keys.append(request.partition_key)
    assert keys == ["2025-03-28", "2025-03-29", "2025-03-30", "2025-03-31"]

    autumn_start = dt.datetime(2025, 10, 24, 12, tzinfo=london).timestamp()
    autumn = cron_string_iterator(autumn_start, nightly_pipeline.cron_schedule, "Europe/London")
    autumn_keys = [yesterday_in_london(next(autumn)) for _ in range(4)]
    assert autumn_keys == ["2025-10-24", "2025-10-25", "2025-10-26", "2025-10-27"]


def test_schedule_key_uses_the_london_date_not_the_utc_date():
    # 00:30 London in summer is 23:30 UTC the day before: the run is for London's yesterday.
    late = dt.datetime(2025, 7, 10, 23, 30, tzinfo=dt.UTC)
    assert yesterday_in_london(late) == "2025-07-10"
