"""Daily partitions by measurement date (the UTC date of a reading, as in the lake's
`date=YYYY-MM-DD` folders), shared by every asset so one run covers one window end to end."""

import datetime as dt

import dagster as dg

from lakehouse_core.settings import get_settings

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=get_settings().partitions_start.isoformat(),
    timezone="UTC",
    end_offset=1,  # today's partition exists: files arriving today are processed today
)

# A range (backfill, or the CLI's --partition-range) runs as ONE run over the whole window,
# so a 30-day backfill costs about what one 30-day run costs.
single_run = dg.BackfillPolicy.single_run()


def first_and_last_day() -> tuple[dt.date, dt.date]:
    """The first partition (LAKEHOUSE_PARTITIONS_START) and the last (today, UTC: end_offset=1)."""
    return get_settings().partitions_start, dt.datetime.now(dt.UTC).date()


def default_day() -> str:
    """The partition a run gets when it names none (`dagster job execute -j transform_dbt_models`,
    the jobs' run tags, `lakehouse materialize` without a day): the latest day with data in the
    lake, or the last partition (today, UTC) when the lake holds no day of the partitions."""
    from orchestration.ingest.lake_scan import lake_days

    start, end = first_and_last_day()
    days = [d for d in lake_days(get_settings().raw_dir) if start.isoformat() <= d <= end.isoformat()]
    return days[-1] if days else end.isoformat()


def check_range(first_day: str, last_day: str) -> tuple[str, str]:
    """The days as YYYY-MM-DD when they make a range of existing partitions; ValueError naming
    what is wrong and where the partitions start and end otherwise."""
    try:
        first, last = dt.date.fromisoformat(first_day), dt.date.fromisoformat(last_day)
    except ValueError as exc:
        raise ValueError(f"days must be YYYY-MM-DD: {exc}") from None
    if first > last:
        raise ValueError(f"the range {first}..{last} is empty: the first day is after the last")
    start, end = first_and_last_day()
    if first < start or last > end:
        outside = first if first < start else last
        raise ValueError(
            f"{outside} has no partition: the daily partitions run from {start} (LAKEHOUSE_PARTITIONS_START) "
            f"to {end} (today, UTC)"
        )
    return first.isoformat(), last.isoformat()


def window_days(context: dg.AssetExecutionContext) -> list[str]:
    """The `YYYY-MM-DD` days of the run's partition window."""
    window = context.partition_time_window
    days, day = [], window.start.date()
    while day < window.end.date():
        days.append(day.isoformat())
        day += dt.timedelta(days=1)
    return days


def dbt_window_vars(context: dg.AssetExecutionContext) -> dict[str, str]:
    window = context.partition_time_window
    return {"window_start": window.start.isoformat(), "window_end": window.end.isoformat()}
