"""The shared macros give the same values on DuckDB and on Spark (DESIGN.md section 8), on the
cases where the engines differ most: DST transitions (23- and 25-hour days, a midnight that does
not exist, half-hour and southern-hemisphere zones), sub-second intervals, NULLs, integer
percentages, DOUBLE sums, day counts, currency conversion, quarter-hour slots, series and
last-non-NULL windows.

Each macro call is compiled by dbt for each target (`dbt compile --inline`), then the compiled
query runs on DuckDB and on a local Spark session with the settings of the `spark` target that
matter for values (session time zone UTC, ANSI mode off as dbt-spark sets it). Values must be
equal — DOUBLEs exactly, since each macro makes both engines do the same IEEE operations."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.config import PROFILES_DIR, PROJECT_DIR

pytestmark = [pytest.mark.spark, pytest.mark.e2e]  # dbt builds on DuckDB and on local Spark
DBT = str(Path(sys.executable).parent / "dbt")

# name, UTC instant, IANA zone, a local date, a later UTC instant
CASES = [
    ("berlin before spring DST", "2025-03-30 00:59:59.123456", "Europe/Berlin", "2025-03-30", "2025-03-30 01:00:00.5"),
    ("berlin after spring DST", "2025-03-30 01:00:00", "Europe/Berlin", "2025-03-31", "2025-03-30 01:00:00"),
    ("berlin autumn DST", "2025-10-26 00:30:00", "Europe/Berlin", "2025-10-26", "2025-10-27 00:30:00"),
    (
        "new york evening is the previous local day",
        "2025-03-09 03:59:59",
        "America/New_York",
        "2025-03-09",
        "2025-03-09 07:00:00.000001",
    ),
    (
        "santiago midnight that does not exist",
        "2024-09-08 04:30:00",
        "America/Santiago",
        "2024-09-08",
        "2024-09-09 04:30:00",
    ),
    (
        "havana midnight that does not exist",
        "2025-03-09 05:00:00",
        "America/Havana",
        "2025-03-09",
        "2025-03-10 05:00:00",
    ),
    ("sydney autumn DST (southern)", "2025-04-05 15:59:59", "Australia/Sydney", "2025-04-06", "2025-04-07 00:00:00"),
    ("kolkata half-hour offset", "2025-06-30 18:29:59", "Asia/Kolkata", "2025-06-30", "2025-07-01 18:30:00"),
    ("chatham quarter-hour offset", "2025-01-01 10:44:59", "Pacific/Chatham", "2025-01-01", "2025-01-01 10:45:00"),
    ("utc", "2024-02-29 23:59:59.999999", "UTC", "2024-02-29", "2024-03-01 00:00:00"),
]

SELECT = """
with cases as (
    {%- for name, ts, tz, day, later in cases %}
    select '{{ name }}' as name, cast('{{ ts }}' as timestamp) as ts, '{{ tz }}' as tz,
           cast('{{ day }}' as date) as day, cast('{{ later }}' as timestamp) as later,
           {{ loop.index }} as n
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),
nulls as (
    select name, ts, tz, day, later, n from cases
    union all
    select 'nulls', cast(null as timestamp), 'UTC', cast(null as date), cast(null as timestamp), 0
)
select
    name,
    {{ to_local_timestamp('ts', 'tz') }} as local_ts,
    {{ local_date('ts', 'tz') }} as local_day,
    {{ local_to_utc_timestamp('cast(day as timestamp)', 'tz') }} as day_start_utc,
    {{ seconds_between(local_to_utc_timestamp('cast(day as timestamp)', 'tz'),
                       local_to_utc_timestamp('cast(' ~ add_days('day', 1) ~ ' as timestamp)', 'tz')) }} as day_seconds,
    {{ seconds_between('ts', 'later') }} as seconds,
    {{ hours_between('ts', 'later') }} as hours,
    {{ overlap_seconds('ts', 'later', 'cast(day as timestamp)', 'cast(' ~ add_days('day', 1) ~ ' as timestamp)') }} as overlap,
    {{ add_days('day', -1) }} as day_before,
    {{ month_start('day') }} as month,
    {{ utc_calendar_date('ts') }} as utc_day,
    {{ utc_calendar_month('ts') }} as utc_month,
    {{ percentage('n', 3) }} as pct_of_3,
    {{ percentage('n', 0) }} as pct_of_0,
    {{ ratio('n', 7) }} as ratio_of_7,
    {{ amount_in_eur('cast(n * 12.3457 as decimal(18, 4))', 'cast(1.0823 as double)') }} as eur,
    {{ invoice_days_overdue("'unpaid'", 'ts', as_of="cast('2025-07-01' as date)") }} as days_overdue,
    {{ is_active_on('day', add_days('day', 1), 'day') }} as active,
    {{ quarter_hour_start('ts') }} as quarter_hour,
    {{ idle_seconds('ts', 'later') }} as idle_seconds,
    {{ uptime_pct('1440', 'n * 10', 'n') }} as uptime_pct
from nulls
"""

SUMS = """
select
    {{ exact_sum('x') }} as exact_total,
    count(*) as days
from (
    select cast(n as double) / 10 as x, dates.day
    from (
        select 1 as n, cast('2025-01-30' as date) as first_day, cast('2025-03-02' as date) as last_day
        union all select 2, cast('2025-06-01' as date), cast('2025-06-01' as date)
        union all select 3, cast('2024-12-31' as date), cast('2025-01-02' as date)
    ) as spans
    cross join (select {{ date_series("cast('2024-12-31' as date)", "cast('2025-06-30' as date)") }} as day) as dates
    where dates.day between spans.first_day and spans.last_day
) as t
"""

WINDOWS = """
select
    n,
    {{ last_non_null('v') }} over (order by n rows between unbounded preceding and current row) as last_v,
    (select sum(i) from (select {{ integer_series(2, 5) }} as i) as series) as series_total
from (
    select 1 as n, 'a' as v union all select 2, null union all select 3, 'c' union all select 4, null
) as t
order by n
"""

SPLIT = "\n-- next query --\n"


def _compile(sql: str, target: str, warehouse) -> str:
    """`dbt compile --inline` for one target; with --quiet dbt prints only the compiled SQL."""
    env = {**os.environ, "WAREHOUSE_DIR": str(warehouse), "DBT_PROFILES_DIR": str(PROFILES_DIR)}
    proc = subprocess.run(
        [
            DBT,
            "compile",
            "--inline",
            sql,
            "--target",
            target,
            "--project-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(warehouse / f"target-{target}"),
            "--log-path",
            str(warehouse / "logs"),
            "--no-populate-cache",
            "--quiet",
            "--vars",
            "{as_of_date: 2025-06-30}",
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def _jinja_cases(sql: str) -> str:
    # the cases become literals in the inline model: test constants, not landing data
    rows = ", ".join("(" + ", ".join(repr(v) for v in case) + ")" for case in CASES)
    return "{% set cases = [" + rows + "] %}" + sql


def _naive(value):
    return value.replace(tzinfo=None) if isinstance(value, dt.datetime) and value.tzinfo else value


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("macros")
    # one compile per target: the queries travel in one inline node, split after compiling
    return {
        target: _compile(_jinja_cases(SPLIT.join([SELECT, SUMS, WINDOWS])), target, warehouse).split(SPLIT)
        for target in ("duckdb", "spark")
    }


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("portable-macros")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    yield session
    session.stop()


def _run_both(compiled, spark, index):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    on_duckdb = con.sql(compiled["duckdb"][index]).to_arrow_table().to_pylist()
    on_spark = spark.sql(compiled["spark"][index]).toArrow().to_pylist()
    on_spark = [{k: _naive(v) for k, v in row.items()} for row in on_spark]
    return on_duckdb, on_spark


def test_row_macros_give_the_same_values_on_both_engines(compiled, spark):
    on_duckdb, on_spark = _run_both(compiled, spark, 0)
    by_name = {row["name"]: row for row in on_spark}
    assert set(by_name) == {row["name"] for row in on_duckdb}
    for row in on_duckdb:
        assert by_name[row["name"]] == row, row["name"]
    # and they are the right values, not just the same ones
    duck = {row["name"]: row for row in on_duckdb}
    assert duck["berlin before spring DST"]["day_seconds"] == 23 * 3600
    assert duck["berlin autumn DST"]["day_seconds"] == 25 * 3600
    assert duck["santiago midnight that does not exist"]["day_start_utc"] == dt.datetime(2024, 9, 8, 4, 0)
    assert duck["santiago midnight that does not exist"]["day_seconds"] == 23 * 3600
    assert duck["new york evening is the previous local day"]["local_day"] == dt.date(2025, 3, 8)
    assert duck["kolkata half-hour offset"]["local_ts"] == dt.datetime(2025, 6, 30, 23, 59, 59)
    assert duck["berlin before spring DST"]["seconds"] == pytest.approx(1.376544, abs=1e-9)
    assert duck["nulls"]["seconds"] is None and duck["nulls"]["day_before"] is None
    assert duck["utc"]["pct_of_3"] == 100.0 * 10 / 3 and duck["utc"]["pct_of_0"] is None
    assert duck["kolkata half-hour offset"]["quarter_hour"] == dt.datetime(2025, 6, 30, 18, 15)
    assert duck["utc"]["uptime_pct"] == 100.0 * (1440 - 90) / 1440


def test_aggregate_and_series_macros_give_the_same_values_on_both_engines(compiled, spark):
    on_duckdb, on_spark = _run_both(compiled, spark, 1)
    assert on_duckdb == on_spark
    assert on_duckdb[0]["days"] == 32 + 1 + 3  # 2025-01-30..03-02, one day, 2024-12-31..2025-01-02


def test_window_and_integer_series_macros_give_the_same_values_on_both_engines(compiled, spark):
    on_duckdb, on_spark = _run_both(compiled, spark, 2)
    assert on_duckdb == on_spark
    assert [row["last_v"] for row in on_duckdb] == ["a", "a", "c", "c"]
    assert on_duckdb[0]["series_total"] == 2 + 3 + 4 + 5
