"""Find raw files that are new or changed since a cursor, and the days they belong to.

The cursor is the highest inode change time (ctime) seen plus the files seen at exactly
that time. ctime (unlike mtime) moves whenever a file is written, renamed or copied in,
even by `cp -p` or `mv`, and cannot be set back by the writer; a rewritten file is
therefore picked up again, and files already seen are never reprocessed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.ingest.raw_files import is_within

_DAY_DIR = re.compile(r"date=(\d{4}-\d{2}-\d{2})")


def day_of_folder(name: str) -> str:
    """`YYYY-MM-DD` of a lake folder named `date=YYYY-MM-DD` (the daily partition key);
    ValueError saying why for any other name. The one place the lake layout is parsed."""
    match = _DAY_DIR.fullmatch(name)
    if not match:
        raise ValueError(f"folder {name!r} is not date=YYYY-MM-DD")
    try:
        dt.date.fromisoformat(match[1])
    except ValueError:
        raise ValueError(f"folder {name!r} is not a calendar date") from None
    return match[1]


@dataclass
class LakeCursor:
    ctime_ns: int = 0
    at_ctime: list[str] = field(default_factory=list)  # files seen with ctime == ctime_ns

    @classmethod
    def parse(cls, raw: str | None) -> LakeCursor:
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(ctime_ns=int(data["ctime_ns"]), at_ctime=list(data["at_ctime"]))

    def dump(self) -> str:
        return json.dumps({"ctime_ns": self.ctime_ns, "at_ctime": sorted(self.at_ctime)})


@dataclass
class ScanResult:
    days: list[str]  # sorted partition keys with new or changed files
    files: list[Path]
    refused: list[str]  # human-readable reasons for paths that were not taken
    cursor: LakeCursor
    arrived_ns: dict[str, int] = field(default_factory=dict)  # day -> newest ctime of its new files


def day_of(path: Path, raw_dir: Path) -> str | None:
    """`YYYY-MM-DD` when `path` is `<raw_dir>/date=YYYY-MM-DD/<file>.parquet`, else None."""
    relative = path.relative_to(raw_dir)
    if len(relative.parts) != 2:
        return None
    try:
        return day_of_folder(relative.parts[0])
    except ValueError:
        return None


def scan_lake(raw_dir: Path, cursor: LakeCursor) -> ScanResult:
    seen_at_cursor = set(cursor.at_ctime)
    new: list[tuple[Path, int, str]] = []
    refused: list[str] = []
    if raw_dir.exists():
        for path in sorted(raw_dir.rglob("*.parquet")):
            if not is_within(path, raw_dir):
                refused.append(f"{path}: resolves outside the lake ({path.resolve()})")
                continue
            ctime = path.stat().st_ctime_ns
            if ctime < cursor.ctime_ns or (ctime == cursor.ctime_ns and str(path) in seen_at_cursor):
                continue
            day = day_of(path, raw_dir)
            if day is None:
                refused.append(f"{path}: not in a date=YYYY-MM-DD folder directly under {raw_dir}")
                continue
            new.append((path, ctime, day))
    if not new:
        return ScanResult([], [], refused, cursor)
    top = max(ctime for _, ctime, _ in new)
    at_top = [str(p) for p, ctime, _ in new if ctime == top]
    if top == cursor.ctime_ns:
        at_top += cursor.at_ctime
    arrived: dict[str, int] = {}
    for _, ctime, day in new:
        arrived[day] = max(arrived.get(day, 0), ctime)
    return ScanResult(
        days=sorted(arrived),
        files=[p for p, _, _ in new],
        refused=refused,
        cursor=LakeCursor(top, at_top),
        arrived_ns=arrived,
    )


def lake_days(raw_dir: Path) -> list[str]:
    """The sorted days that have a `date=YYYY-MM-DD` folder in the lake."""
    if not raw_dir.exists():
        return []
    days = set()
    for child in raw_dir.iterdir():
        if child.is_dir():
            try:
                days.add(day_of_folder(child.name))
            except ValueError:
                continue
    return sorted(days)
