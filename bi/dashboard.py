"""The dashboard, as code: the database connection, the dataset, the charts and their layout.

`bi/provision.py` makes Superset hold exactly this (create or update, by name and slug).

- **Database** `lakehouse marts`: the lakehouse's Postgres, logged in as the read-only BI role
  (LAKEHOUSE_BI_USER), which can read schema `marts` and nothing else.
- **Dataset** `marts.mart_bioreactor_overview`: the mart itself (a physical dataset, no SQL of
  its own), one row per batch and tag.
- **Charts**: `Batch and tag statistics` (every batch and tag: site, reactor, unit, mean, sd,
  min, max, readings, time in spec, excursions) and `Time in spec by batch start` (per tag,
  over the batches' start times).
- **Dashboard** `bioreactor-overview`: the chart over time above the table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

DATABASE_NAME = "lakehouse marts"
SCHEMA = "marts"
TABLE = "mart_bioreactor_overview"
MART_ASSET = "mart_bioreactor_overview"  # the Dagster asset (dbt model) whose table it is
DASHBOARD_SLUG = "bioreactor-overview"
DASHBOARD_TITLE = "Bioreactor overview"

# Number formats (d3-format), shared with the browser test that reads the numbers back.
STAT_FORMAT = ".3f"
SHARE_FORMAT = ".1%"

STAT_COLUMNS = ("mean_value", "sd_value", "min_value", "max_value")
TABLE_COLUMNS = (
    "batch_id",
    "tag",
    "site",
    "equipment_id",
    "unit",
    *STAT_COLUMNS,
    "reading_count",
    "time_in_spec_share",
    "excursion_count",
)


@dataclass(frozen=True)
class Chart:
    key: str  # its id in the dashboard layout
    name: str  # slice_name: how provisioning finds it again
    viz_type: str
    description: str
    width: int  # of 12 grid columns
    height: int  # in grid units (8 px)
    params: dict[str, Any]

    def form_data(self, dataset_id: int) -> dict[str, Any]:
        return {"datasource": f"{dataset_id}__table", "viz_type": self.viz_type, **self.params}


STATS_TABLE = Chart(
    key="CHART-batch-tag-stats",
    name="Batch and tag statistics",
    viz_type="table",
    description="Per batch and tag: mean, standard deviation, min and max of the readings, "
    "their count, the share of time in spec and the number of excursions (marts.mart_bioreactor_overview).",
    width=12,
    height=90,
    params={
        "query_mode": "raw",
        "all_columns": list(TABLE_COLUMNS),
        "order_by_cols": [json.dumps(["batch_id", True]), json.dumps(["tag", True])],
        "row_limit": 10000,
        "server_pagination": False,
        "server_page_length": 10,
        "page_length": 0,
        "include_search": True,
        "show_cell_bars": False,
        "table_timestamp_format": "smart_date",
        "adhoc_filters": [],
        "column_config": {
            **{column: {"d3NumberFormat": STAT_FORMAT} for column in STAT_COLUMNS},
            "time_in_spec_share": {"d3NumberFormat": SHARE_FORMAT},
        },
    },
)

TIME_IN_SPEC = Chart(
    key="CHART-time-in-spec",
    name="Time in spec by batch start",
    viz_type="echarts_timeseries_line",
    description="Share of each batch's time that each tag spent within its spec, by the batch's start time.",
    width=12,
    height=60,
    params={
        "x_axis": "batch_start",
        "time_grain_sqla": "PT1M",
        "metrics": [
            {
                "expressionType": "SIMPLE",
                "column": {"column_name": "time_in_spec_share"},
                "aggregate": "AVG",
                "label": "time in spec",
            }
        ],
        "groupby": ["tag"],
        "adhoc_filters": [],
        "row_limit": 10000,
        "order_desc": True,
        "show_legend": True,
        "legendType": "scroll",
        "legendOrientation": "top",
        "markerEnabled": True,
        "markerSize": 6,
        "rich_tooltip": True,
        "y_axis_format": SHARE_FORMAT,
        "x_axis_title": "batch start",
        "x_axis_title_margin": 30,
        "truncateYAxis": False,
    },
)

CHARTS = (TIME_IN_SPEC, STATS_TABLE)


def position_json(chart_ids: dict[str, int]) -> dict[str, Any]:
    """The dashboard's layout: each chart in its own row, in `CHARTS` order."""
    layout: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": DASHBOARD_TITLE}},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
    }
    for number, chart in enumerate(CHARTS, start=1):
        row = f"ROW-{number}"
        layout["GRID_ID"]["children"].append(row)
        layout[row] = {
            "type": "ROW",
            "id": row,
            "children": [chart.key],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        layout[chart.key] = {
            "type": "CHART",
            "id": chart.key,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID", row],
            "meta": {
                "chartId": chart_ids[chart.key],
                "sliceName": chart.name,
                "width": chart.width,
                "height": chart.height,
            },
        }
    return layout


def json_metadata(chart_ids: dict[str, int]) -> dict[str, Any]:
    return {
        "color_scheme": "supersetColors",
        "refresh_frequency": 0,
        "expanded_slices": {},
        "label_colors": {},
        "shared_label_colors": [],
        "timed_refresh_immune_slices": [],
        "cross_filters_enabled": False,
        "native_filter_configuration": [],
        "chart_configuration": {},
        "positions": position_json(chart_ids),
    }
