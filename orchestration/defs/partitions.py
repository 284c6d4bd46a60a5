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

import dagster as dg

daily = dg.DailyPartitionsDefinition(
    start_date=os.environ.get("WAREHOUSE_PARTITIONS_START", "2010-01-01"),
    timezone="UTC",
    end_offset=1,  # today's partition exists (a run on day D may refresh D so far)
)

DATE_TOKEN = re.compile(r"(\d{4}-\d{2}-\d{2})")


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
