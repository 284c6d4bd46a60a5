"""Daily partitions (UTC) for the event sources and the dbt models.

A partitioned run for day D (or a backfill for days A..B, run as one run) loads the event files
of those days — event-source files carry their UTC date in their name, e.g.
sessions/sessions_2025-03-01.jsonl — and passes the window to dbt as the vars min_date/max_date,
with as_of_date = the window's last day. An unpartitioned run (the CLI's `run`, the sensor)
loads every new file and lets the incremental models work out what changed."""

import os
import re
from datetime import date, timedelta

import dagster as dg

daily = dg.DailyPartitionsDefinition(
    start_date=os.environ.get("WAREHOUSE_PARTITIONS_START", "2024-01-01"),
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


def file_in_window(name: str, win: tuple[date, date] | None) -> bool:
    """A file belongs to a window when the date in its name falls inside it; files without a
    date in their name belong to every run."""
    if win is None:
        return True
    m = DATE_TOKEN.search(name)
    if not m:
        return True
    try:
        day = date.fromisoformat(m.group(1))
    except ValueError:
        return True
    return win[0] <= day <= win[1]


def run_logical_date(context, default: date) -> date:
    """The logical date of the run an (unpartitioned) asset runs in: the last day of the run's
    partition window if the run is partitioned, else `default`."""
    tags = context.run.tags
    last = tags.get("dagster/partition") or tags.get("dagster/asset_partition_range_end")
    return date.fromisoformat(last) if last else default
