"""Daily partitions (UTC) for the event sources and the dbt models.

Every run of the warehouse job is for a daily partition D (its logical date) or, as a backfill,
for a range of days A..D run as one run. It loads the new event files dated up to D — event
files carry their UTC date in their name, e.g. sessions/sessions_2025-03-01.jsonl; files
without a date in their name are always loaded — and builds with as_of_date = D. What the
incremental models rebuild is what the newly loaded records touch, whatever their dates (late
updates included), as the run's plan says (orchestration/plan.py), so a daily run is small."""

import os
import re
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from orchestration import config

DATE_TOKEN = re.compile(r"(\d{4}-\d{2}-\d{2})")


def earliest_landing_day(landing: Path) -> date | None:
    """The earliest valid date in the name of a file under a source folder of the landing zone
    (sessions/sessions_2025-03-01.jsonl, cdrs/hubject/cdrs_2025-03-01.jsonl, the registries' first
    snapshot operators_2025-02-28.csv, ...), or None when no file name carries one. Names only:
    a directory listing, no file is read."""
    from orchestration.contract import SOURCES

    earliest = None
    for source in SOURCES:
        folder = Path(landing) / source
        if not folder.is_dir():
            continue
        for _, _, files in os.walk(folder):
            for name in files:
                m = DATE_TOKEN.search(name)
                if not m:
                    continue
                try:
                    day = date.fromisoformat(m.group(1))
                except ValueError:
                    continue
                if earliest is None or day < earliest:
                    earliest = day
    return earliest


def first_partition_day() -> date:
    """WAREHOUSE_PARTITIONS_START when set; else the earliest date in the landing zone's file names
    (never after today); else today. Computed when the definitions load: after files with earlier
    dates land, reload the code location (`dagster dev`: Reload) to see their partitions."""
    setting = os.environ.get("WAREHOUSE_PARTITIONS_START")
    if setting:
        return date.fromisoformat(setting)
    today = config.today_utc()
    earliest = earliest_landing_day(config.landing_dir())
    return min(earliest, today) if earliest else today


daily = dg.DailyPartitionsDefinition(
    start_date=first_partition_day().isoformat(),
    timezone="UTC",
    end_offset=1,  # today's partition exists (a run on day D may refresh D so far)
)


def window(context) -> tuple[date, date] | None:
    """The run's partition window [first day, last day], or None for an unpartitioned run."""
    if not context.has_partition_key and not context.has_partition_key_range:
        return None
    tw = context.partition_time_window
    return tw.start.date(), (tw.end - timedelta(days=1)).date()


def file_due(name: str, win: tuple[date, date] | None) -> bool:
    """A file is due in a run when the date in its name is not after the run's last day; files
    without a date in their name are due in every run."""
    if win is None:
        return True
    m = DATE_TOKEN.search(name)
    if not m:
        return True
    try:
        day = date.fromisoformat(m.group(1))
    except ValueError:
        return True
    return day <= win[1]


def run_logical_date(context, default: date) -> date:
    """The logical date of the run an (unpartitioned) asset runs in: the last day of the run's
    partition window if the run is partitioned, else `default`."""
    tags = context.run.tags
    last = tags.get("dagster/partition") or tags.get("dagster/asset_partition_range_end")
    return date.fromisoformat(last) if last else default
