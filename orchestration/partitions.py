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
