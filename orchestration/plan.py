"""What the next dbt build must rebuild, decided in Python from what the loader has loaded.

The incremental dbt models use dbt's own strategies (delete+insert on DuckDB; insert_overwrite
or merge on Spark): each replaces the partitions (dates) or the keys (sessions, ledger entries,
CDRs) present in the rows it selects. Which partitions and keys those are is decided here, after
the loads and before dbt, from the raw rows loaded since the last successful build, and handed
to dbt as table data in schema `run_plan` of the build database (a dbt source), never as SQL
text:

    run_plan.network_dates   local dates of the session and charge-point-day models
    run_plan.ocpp_dates      local dates of ocpp_errors_daily
    run_plan.roaming_dates   UTC reporting dates of the roaming marts
    run_plan.sessions        session_id of int_sessions
    run_plan.ledger_entries  entry_id of int_ledger_entries
    run_plan.cdrs            (cpo_country_code, cpo_party_id, cdr_id) of int_roaming_cdrs

A plan has one of three modes:

    full         `dbt build --full-refresh`. The first build; the dbt project changed; rows left a
                 raw table (the loader moved conflicting versions to the quarantine) or its count
                 does not add up; the logical date moved back; a registry change other than a new
                 charge point or a firmware upgrade; a correction that can take a finished session
                 off one of its dates; so many changes that rebuilding everything is cheaper. In
                 these cases a partition or a key could lose all its rows, which "replace what is
                 present in the new rows" cannot express.
    incremental  `dbt build`: the incremental models rebuild the sets above, every other model is
                 rebuilt whole as always.
    none         nothing was loaded since the last build and the logical date is the same: the
                 build database already holds this build, dbt does not run.

Late data of any age lands in the right partitions: they come from the dates of the records
themselves (every raw version of a session that has a new one, old and new; a credit CDR and the
CDR it cancels), not from a lookback window. A record's UTC date is within a day of its local
date, so local-date sets carry a day of slack on each side.

State: run_plan.plans has a row per plan (status `planned`; `built` once its dbt build
succeeded; `skipped` for a `none` plan); run_plan.plan_sources holds each raw table's row count
and latest `_loaded_at` when the plan was made. The next plan reads what was loaded after the
last *built* plan, so a run whose build failed is planned again with everything since."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

SCHEMA = "run_plan"

# Raw tables the incremental models follow, and those only full-table models read.
FOLLOWED = ("sessions", "charge_points", "sites", "ledger", "cdrs", "ocpp", "fx_rates")
OTHER = ("operators", "teams", "plans", "subscriptions", "wallets", "ratings", "invoices")
SOURCES = FOLLOWED + OTHER

# The partition and key sets handed to dbt: table -> columns.
SETS = {
    "network_dates": "date DATE",
    "ocpp_dates": "date DATE",
    "roaming_dates": "date DATE",
    "sessions": "session_id VARCHAR",
    "ledger_entries": "entry_id VARCHAR",
    "cdrs": "cpo_country_code VARCHAR, cpo_party_id VARCHAR, cdr_id VARCHAR",
}

# A charge point version that differs from the version before it only in these (a firmware
# rollout) changes the hardware of the sessions plugged in from its updated_at on, nothing else.
HARDWARE_FIELDS = ("brand", "model", "firmware_version")
CHARGE_POINT_FIELDS = (
    "site_id",
    "team_id",
    "operator_id",
    "brand",
    "model",
    "firmware_version",
    "charging_type",
    "max_power_kw",
    "connector_count",
    "access",
    "roaming_enabled",
    "commissioned_at",
    "decommissioned_at",
)
# Site fields the incremental models read: the time zone (local dates) and the site-grain marts'
# name, operator, team and coordinates.
SITE_FIELDS = ("operator_id", "team_id", "name", "latitude", "longitude", "time_zone")
FINISHED = ("completed", "failed")

# Above this share of a table's keys (or of its date span) a full rebuild is cheaper than
# replacing them one by one; sets smaller than the floor are always replaced.
FULL_SHARE = 0.25
FULL_FLOOR = {"sessions": 1000, "ledger_entries": 1000, "cdrs": 1000, "network_dates": 28, "roaming_dates": 28}

PLANS_DDL = f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.plans (
    plan_id VARCHAR PRIMARY KEY,
    run_id VARCHAR,
    as_of_date DATE NOT NULL,
    mode VARCHAR NOT NULL,            -- full | incremental | none
    reasons VARCHAR NOT NULL,         -- JSON list: why (text for people, never SQL)
    project_hash VARCHAR,             -- fingerprint of the dbt project it was made for
    previous_plan_id VARCHAR,         -- the last built plan when it was made
    clean_chain BOOLEAN NOT NULL,     -- no failed build between previous_plan_id and this plan
    planned_at TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,          -- planned | built | skipped
    finished_at TIMESTAMP,
    changed_sources VARCHAR,          -- JSON list: raw tables with rows loaded since the last build
    as_of_changed BOOLEAN             -- the logical date differs from the last build's
)"""
SOURCES_DDL = f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.plan_sources (
    plan_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    row_count BIGINT NOT NULL,        -- rows in raw.<source> when planned
    loaded_through TIMESTAMP,         -- its latest _loaded_at when planned
    new_rows BIGINT NOT NULL          -- rows loaded since the previous built plan
)"""


@dataclass
class Plan:
    plan_id: str
    as_of: date
    mode: str
    reasons: list[str]
    previous_plan_id: str | None
    clean_chain: bool
    status: str = "planned"
    sizes: dict[str, int] = field(default_factory=dict)
    changed_sources: list[str] = field(default_factory=list)
    as_of_changed: bool = True

    def describe(self) -> str:
        sizes = ", ".join(f"{k} {v}" for k, v in self.sizes.items() if v)
        return (
            f"plan {self.plan_id[:8]} for {self.as_of} ({self.mode}): "
            + "; ".join(self.reasons)
            + (f" [to rebuild: {sizes}]" if sizes else "")
        )


class _Full(Exception):
    """A reason to rebuild everything, found while planning."""


# -------------------------------------------------------------------------------------------------
# state


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return (
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", [schema, table]
        ).fetchone()[0]
        > 0
    )


def current_plan(con: duckdb.DuckDBPyConnection) -> Plan | None:
    """The latest plan made (the one the dbt build and the publish of this run follow), or None."""
    if not _exists(con, SCHEMA, "plans"):
        return None
    row = con.execute(
        f"SELECT plan_id, as_of_date, mode, reasons, previous_plan_id, clean_chain, status, "
        f"changed_sources, as_of_changed FROM {SCHEMA}.plans ORDER BY planned_at DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    plan = Plan(
        row[0],
        row[1],
        row[2],
        json.loads(row[3]),
        row[4],
        row[5],
        row[6],
        changed_sources=json.loads(row[7] or "[]"),
        as_of_changed=row[8] is not False,
    )
    plan.sizes = {
        t: con.execute(f"SELECT count(*) FROM {SCHEMA}.{t}").fetchone()[0] for t in SETS if _exists(con, SCHEMA, t)
    }
    return plan


def read_current_plan(build_db: Path) -> Plan | None:
    if not Path(build_db).exists():
        return None
    con = duckdb.connect(str(build_db), read_only=True)
    try:
        return current_plan(con)
    finally:
        con.close()


def project_hash(manifest_path: Path) -> str:
    """Fingerprint of the dbt project, in two parts "<build>:<tests>": its models, seeds and
    snapshots (SQL and config) and its own macros — tables built by other code are rebuilt from
    scratch; and its data tests — new or changed tests run on everything."""
    manifest = json.loads(Path(manifest_path).read_text())
    project = manifest["metadata"]["project_name"]
    build, tests = hashlib.sha256(), hashlib.sha256()
    for uid in sorted(manifest["nodes"]):
        node = manifest["nodes"][uid]
        config = json.dumps(node["config"], sort_keys=True, default=str)
        if node["resource_type"] in ("model", "seed", "snapshot"):
            build.update(f"{uid}\0{node['checksum']['checksum']}\0{config}\n".encode())
        elif node["resource_type"] == "test":
            spec = json.dumps(node.get("test_metadata"), sort_keys=True, default=str)
            tests.update(f"{uid}\0{node.get('raw_code', '')}\0{spec}\0{config}\n".encode())
    for uid in sorted(manifest["macros"]):
        macro = manifest["macros"][uid]
        if macro["package_name"] == project:
            build.update(f"{uid}\0{macro['macro_sql']}\n".encode())
    return f"{build.hexdigest()}:{tests.hexdigest()}"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# -------------------------------------------------------------------------------------------------
# planning


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Schema run_plan with its tables (empty sets until a plan is made): the dbt source exists
    before the first plan (dbt unit tests read its columns)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    con.execute(PLANS_DDL)
    for column in ("changed_sources VARCHAR", "as_of_changed BOOLEAN"):  # columns added since the first plans
        con.execute(f"ALTER TABLE {SCHEMA}.plans ADD COLUMN IF NOT EXISTS {column}")
    con.execute(SOURCES_DDL)
    for table, columns in SETS.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{table} ({columns})")


def make_plan(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: date,
    run_id: str | None = None,
    project: str | None = None,
    full_refresh: bool = False,
    rebuild: tuple[date, date] | None = None,
) -> Plan:
    """Plan the build for logical date `as_of` from the raw tables of the build database `con`
    and write it into schema run_plan. `project`: the dbt project's fingerprint (project_hash);
    `full_refresh`: plan a full rebuild whatever changed; `rebuild`: a window of days to rebuild
    besides what changed (a backfill of several days, or an analyst's request)."""
    ensure_schema(con)
    last = con.execute(
        f"SELECT plan_id, as_of_date, project_hash, planned_at FROM {SCHEMA}.plans "
        "WHERE status = 'built' ORDER BY planned_at DESC LIMIT 1"
    ).fetchone()
    failed = con.execute(
        f"SELECT as_of_date, mode FROM {SCHEMA}.plans WHERE status = 'planned' AND planned_at > ?",
        [last[3] if last else datetime(1900, 1, 1)],
    ).fetchall()
    marks = _source_marks(con, last[0] if last else None)
    plan_id = uuid.uuid4().hex
    con.execute("BEGIN TRANSACTION")
    try:
        for table, columns in SETS.items():
            con.execute(f"CREATE OR REPLACE TABLE {SCHEMA}.{table} ({columns})")
        mode, tests_changed = "incremental", False
        try:
            if full_refresh:
                raise _Full("a full rebuild was asked for")
            if last is None:
                raise _Full("first build: no earlier build recorded")
            if project is not None and (last[2] or ":").split(":")[0] != project.split(":")[0]:
                raise _Full("the dbt project changed since the last build")
            if any(m == "full" for _, m in failed):
                raise _Full("an earlier full rebuild did not complete")
            reasons = _plan_changes(con, marks, as_of, [last[1]] + [a for a, _ in failed], rebuild)
            tests_changed = project is not None and (last[2] or ":").split(":")[-1] != project.split(":")[-1]
            if tests_changed:
                reasons.append("the data tests changed: every model is built and tested")
            if not reasons:
                mode, reasons = "none", [f"nothing loaded since the last build and as_of_date {as_of} unchanged"]
        except _Full as why:
            mode, reasons = "full", [str(why)]
            for table in SETS:
                con.execute(f"DELETE FROM {SCHEMA}.{table}")
        changed = [s for s, m in marks.items() if m["new"]]
        as_of_changed = last is None or as_of != last[1] or any(a != as_of for a, _ in failed)
        if mode == "incremental" and tests_changed:  # nothing left out of the build (every test runs)
            changed, as_of_changed = list(SOURCES), True
        con.execute(
            f"INSERT INTO {SCHEMA}.plans (plan_id, run_id, as_of_date, mode, reasons, project_hash, "
            "previous_plan_id, clean_chain, planned_at, status, changed_sources, as_of_changed) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'planned', ?, ?)",
            [
                plan_id,
                run_id,
                as_of,
                mode,
                json.dumps(reasons),
                project,
                last[0] if last else None,
                not failed,
                _now(),
                json.dumps(changed),
                as_of_changed,
            ],
        )
        con.executemany(
            f"INSERT INTO {SCHEMA}.plan_sources VALUES (?, ?, ?, ?, ?)",
            [[plan_id, s, m["rows"], m["through"], m["new"]] for s, m in marks.items()],
        )
        _prune(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    plan = current_plan(con)
    assert plan is not None and plan.plan_id == plan_id
    return plan


def _source_marks(con, last_id: str | None) -> dict[str, dict]:
    """Per raw table: rows now, latest _loaded_at now, rows loaded since the last built plan, and
    the last built plan's row count and latest _loaded_at (the watermark). Also kept as the temp
    table plan_marks, which the planning queries read their watermarks from."""
    before = {}
    if last_id is not None:
        before = {
            s: (n, t)
            for s, n, t in con.execute(
                f"SELECT source, row_count, loaded_through FROM {SCHEMA}.plan_sources WHERE plan_id = ?", [last_id]
            ).fetchall()
        }
    marks = {}
    for source in SOURCES:
        kept, watermark = before.get(source, (0, None))
        if _exists(con, "raw", source):
            rows, through, new = con.execute(
                f"SELECT count(*), max(_loaded_at), count(*) FILTER (WHERE ? IS NULL OR _loaded_at > ?) "
                f"FROM raw.{source}",
                [watermark, watermark],
            ).fetchone()
        else:
            rows, through, new = 0, None, 0
        marks[source] = {"rows": rows, "through": through, "new": new, "kept": kept, "watermark": watermark}
    con.execute("CREATE OR REPLACE TEMP TABLE plan_marks (source VARCHAR, watermark TIMESTAMP)")
    con.executemany(
        "INSERT INTO plan_marks VALUES (?, coalesce(?, TIMESTAMP '-infinity'))",
        [[s, m["watermark"]] for s, m in marks.items()],
    )
    return marks


def _is_new(source: str, alias: str | None = None) -> str:
    """SQL: the row (of raw.<source>, as `alias`) was loaded after the last built plan."""
    column = f"{alias}._loaded_at" if alias else "_loaded_at"
    return f"({column} > (SELECT watermark FROM plan_marks WHERE source = '{source}'))"


def _plan_changes(
    con, marks: dict, as_of: date, earlier_as_ofs: list[date], rebuild: tuple[date, date] | None
) -> list[str]:
    """Fill the run_plan sets with what changed since the last built plan and return why;
    raise _Full when only a full rebuild is right."""
    for source, m in marks.items():
        if m["rows"] - m["new"] != m["kept"]:
            raise _Full(
                f"raw.{source} holds {m['rows'] - m['new']} rows from earlier loads where the last build "
                f"saw {m['kept']} (conflicting versions moved to the quarantine, or rows rewritten)"
            )
    if as_of < max(earlier_as_ofs):
        raise _Full(f"as_of_date moved back from {max(earlier_as_ofs)} to {as_of}")
    new = {s: m["new"] for s, m in marks.items()}
    reasons: list[str] = []

    if new["sites"]:
        reasons.append(_site_changes(con))
    cp_dates_from = _charge_point_changes(con, reasons) if new["charge_points"] else None
    if new["sessions"]:
        _session_changes(con)
        reasons.append(f"{new['sessions']} session version(s)")
    if cp_dates_from is not None:
        _network_dates_from(con, cp_dates_from, as_of)
    if as_of != earlier_as_ofs[0] or len(earlier_as_ofs) > 1:
        con.execute(
            f"INSERT INTO {SCHEMA}.network_dates SELECT CAST(d AS DATE) FROM "
            "generate_series(CAST(? AS DATE), CAST(? AS DATE), INTERVAL 1 DAY) AS t(d)",
            [min(earlier_as_ofs), as_of],
        )
        reasons.append(f"as_of_date {earlier_as_ofs[0]} -> {as_of}")
    if rebuild is not None:
        _rebuild_window(con, *sorted(rebuild))
        reasons.append(f"the days {min(rebuild)}..{max(rebuild)} asked for")
    fx_from = None
    if new["fx_rates"]:
        fx_from = con.execute(f"SELECT min(rate_date) FROM raw.fx_rates WHERE {_is_new('fx_rates')}").fetchone()[0]
        reasons.append(f"{new['fx_rates']} ECB rate(s) from {fx_from} on")
    if new["ocpp"]:
        con.execute(f"""INSERT INTO {SCHEMA}.ocpp_dates
            SELECT DISTINCT CAST(day AS DATE) FROM (
                SELECT CAST(coalesce(payload_timestamp, received_at) AS DATE) AS d FROM raw.ocpp
                WHERE {_is_new("ocpp")} AND action = 'StatusNotification'
            ), LATERAL unnest(generate_series(d - 1, d + 1, INTERVAL 1 DAY)) AS t(day)""")
        reasons.append(f"{new['ocpp']} OCPP message(s)")
    if new["ledger"] or fx_from is not None or _count(con, "sessions"):
        _ledger_changes(con, fx_from)
        if new["ledger"]:
            reasons.append(f"{new['ledger']} ledger entr{'y' if new['ledger'] == 1 else 'ies'}")
    if new["cdrs"] or fx_from is not None or rebuild is not None:
        _roaming_changes(con, fx_from, tuple(sorted(rebuild)) if rebuild else (None, None))
        if new["cdrs"]:
            reasons.append(f"{new['cdrs']} CDR(s)")
    others = [f"{s} ({new[s]})" for s in OTHER if new[s]]
    if others:
        reasons.append("new rows in " + ", ".join(others))
    for table in SETS:
        con.execute(f"CREATE OR REPLACE TABLE {SCHEMA}.{table} AS SELECT DISTINCT * FROM {SCHEMA}.{table} ORDER BY ALL")
    _full_if_cheaper(con)
    return reasons


def _count(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {SCHEMA}.{table}").fetchone()[0]


def _changed(fields: tuple[str, ...], row: str, prev: str) -> str:
    """SQL: the list of the names of `fields` whose values differ between `row` and `prev`."""
    cases = ", ".join(f"CASE WHEN {row}.{f} IS DISTINCT FROM {prev}.{f} THEN '{f}' END" for f in fields)
    return f"list_filter([{cases}], lambda x: x IS NOT NULL)"


def _site_changes(con) -> str:
    """A new site matters only to charge points registered at it before (their time zone was UTC
    until now); a new version that changes what the incremental models read of a site is a full
    rebuild."""
    row = con.execute(f"""
        WITH versions AS (
            SELECT *, lag(struct_pack({", ".join(SITE_FIELDS)})) OVER (PARTITION BY site_id ORDER BY updated_at) AS prev
            FROM raw.sites
        ),
        changes AS (
            SELECT site_id, prev IS NULL AS is_new_key, {_changed(SITE_FIELDS, "versions", "versions.prev")} AS changed
            FROM versions WHERE {_is_new("sites")}
        )
        SELECT site_id, is_new_key, changed FROM changes
        WHERE (NOT is_new_key AND len(changed) > 0)
           OR (is_new_key AND site_id IN (SELECT site_id FROM raw.charge_points c WHERE NOT {_is_new("charge_points", "c")}))
        LIMIT 1""").fetchone()
    if row is not None:
        what = "charge points registered before their site" if row[1] else "a change of " + ", ".join(row[2])
        raise _Full(f"site registry: {what} (site {row[0]!r})")
    return "site registry versions (nothing the incremental models read)"


def _charge_point_changes(con, reasons: list[str]) -> date | None:
    """A new charge point adds CP-days from its commissioning on; a version that differs from the
    one before it only in brand, model or firmware changes the hardware of the sessions plugged in
    from its updated_at on (rebuilt by key). Anything else is a full rebuild. Returns the first UTC
    date touched (network dates run from the day before it to the calendar end), or None."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE plan_cp_changes AS
        WITH versions AS (
            SELECT *,
                   lag(struct_pack({", ".join(CHARGE_POINT_FIELDS)})) OVER w AS prev,
                   row_number() OVER w AS version_number,
                   bool_and({_is_new("charge_points")}) OVER (PARTITION BY charge_point_id) AS is_new_key
            FROM raw.charge_points
            WINDOW w AS (PARTITION BY charge_point_id ORDER BY updated_at)
        )
        SELECT charge_point_id, updated_at, commissioned_at, is_new_key, version_number,
               {_changed(CHARGE_POINT_FIELDS, "versions", "versions.prev")} AS changed
        FROM versions WHERE {_is_new("charge_points")}""")
    hardware = "[" + ", ".join(f"'{f}'" for f in HARDWARE_FIELDS) + "]"
    bad = con.execute(f"""
        SELECT charge_point_id, changed, version_number FROM plan_cp_changes
        WHERE NOT is_new_key AND (version_number = 1 OR NOT list_has_all({hardware}, changed))
        UNION ALL
        SELECT charge_point_id, [], 0 FROM plan_cp_changes
        WHERE is_new_key AND (charge_point_id IN (SELECT charge_point_id FROM raw.sessions)
                              OR charge_point_id IN (SELECT charge_point_id FROM raw.ocpp)
                              OR charge_point_id IN (SELECT evse_uid FROM raw.cdrs))
        LIMIT 1""").fetchone()
    if bad is not None:
        what = (
            "a new charge point with events loaded before it"
            if bad[2] == 0
            else "a version dated before the first one"
            if bad[2] == 1
            else "a change of " + ", ".join(bad[1])
        )
        raise _Full(f"charge point registry: {what} (charge point {bad[0]!r})")
    new_keys, upgrades, first = con.execute("""
        SELECT count(DISTINCT charge_point_id) FILTER (WHERE is_new_key),
               count(*) FILTER (WHERE NOT is_new_key AND len(changed) > 0),
               min(CAST(CASE WHEN is_new_key THEN least(coalesce(commissioned_at, updated_at), updated_at)
                        ELSE updated_at END AS DATE)) FILTER (WHERE is_new_key OR len(changed) > 0)
        FROM plan_cp_changes""").fetchone()
    con.execute(f"""INSERT INTO {SCHEMA}.sessions
        SELECT s.session_id FROM raw.sessions s
        JOIN plan_cp_changes c ON c.charge_point_id = s.charge_point_id
        WHERE NOT c.is_new_key AND len(c.changed) > 0 AND s.plugged_in_at >= c.updated_at""")
    parts = [
        f"{new_keys} new charge point(s)" if new_keys else "",
        f"{upgrades} firmware or hardware change(s)" if upgrades else "",
    ]
    reasons.append("charge point registry: " + (", ".join(p for p in parts if p) or "versions that change nothing"))
    return first


def _network_dates_from(con, first: date, as_of: date) -> None:
    """Every date from the day before `first` to the calendar end (the later of as_of_date and the
    last session date) plus a day."""
    con.execute(
        f"""INSERT INTO {SCHEMA}.network_dates
        SELECT CAST(d AS DATE) FROM generate_series(
            CAST(? AS DATE) - 1,
            greatest(CAST(? AS DATE),
                     (SELECT max(CAST(coalesce(unplugged_at, plugged_in_at) AS DATE)) FROM raw.sessions)) + 1,
            INTERVAL 1 DAY) AS t(d)""",
        [first, as_of],
    )


def _session_changes(con) -> None:
    """Sessions with a new version are rebuilt by key; every date any of their versions (old and
    new) touches is a network date. A new version of a finished session that can take it off a
    date it counted on (another plug-in time, an earlier unplug, no longer finished, another
    charge point, no longer roaming) may leave a partition without rows: full rebuild. One that
    only ends later (a late completion, a longer stay) adds dates and removes none."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE plan_changed_sessions AS "
        f"SELECT DISTINCT session_id FROM raw.sessions WHERE {_is_new('sessions')}"
    )
    corrected = con.execute(f"""
        WITH versions AS (
            SELECT *, {_is_new("sessions")} AS is_new FROM raw.sessions
            WHERE session_id IN (SELECT session_id FROM plan_changed_sessions)
        ),
        old AS (SELECT * FROM versions WHERE NOT is_new
                QUALIFY row_number() OVER (PARTITION BY session_id ORDER BY updated_at DESC) = 1),
        cur AS (SELECT * FROM versions
                QUALIFY row_number() OVER (PARTITION BY session_id ORDER BY updated_at DESC) = 1)
        SELECT count(*) FROM old JOIN cur USING (session_id)
        WHERE old.state IN {FINISHED} AND (
            cur.state NOT IN {FINISHED}
            OR coalesce(cur.is_roaming, false) <> coalesce(old.is_roaming, false)
            OR cur.charge_point_id IS DISTINCT FROM old.charge_point_id
            OR cur.plugged_in_at IS DISTINCT FROM old.plugged_in_at
            OR coalesce(cur.unplugged_at, cur.plugged_in_at) < coalesce(old.unplugged_at, old.plugged_in_at))
        """).fetchone()[0]
    if corrected:
        raise _Full(
            f"{corrected} finished session(s) corrected off a date (another plug-in time, an earlier "
            "unplug, no longer finished, another charge point or roaming flag)"
        )
    con.execute(f"INSERT INTO {SCHEMA}.sessions SELECT session_id FROM plan_changed_sessions")
    con.execute(f"""INSERT INTO {SCHEMA}.network_dates
        SELECT DISTINCT CAST(day AS DATE) FROM (
            SELECT CAST(least(plugged_in_at, coalesce(unplugged_at, plugged_in_at)) AS DATE) - 1 AS first_day,
                   CAST(greatest(plugged_in_at, coalesce(unplugged_at, plugged_in_at)) AS DATE) + 1 AS last_day
            FROM raw.sessions WHERE session_id IN (SELECT session_id FROM plan_changed_sessions)
        ), LATERAL unnest(generate_series(first_day, last_day, INTERVAL 1 DAY)) AS t(day)""")


def _rebuild_window(con, first: date, last: date) -> None:
    """Every partition and key of the days first..last (local dates with a day of slack; sessions
    plugged in, entries booked, CDRs ending then; their credit partners follow in _roaming_changes)."""
    for table in ("network_dates", "ocpp_dates"):
        con.execute(
            f"INSERT INTO {SCHEMA}.{table} SELECT CAST(d AS DATE) FROM generate_series("
            "CAST(? AS DATE) - 1, CAST(? AS DATE) + 1, INTERVAL 1 DAY) AS t(d)",
            [first, last],
        )
    con.execute(
        f"INSERT INTO {SCHEMA}.sessions SELECT session_id FROM raw.sessions "
        "WHERE plugged_in_at >= CAST(? AS DATE) - 1 AND plugged_in_at < CAST(? AS DATE) + 2",
        [first, last],
    )
    con.execute(
        f"INSERT INTO {SCHEMA}.ledger_entries SELECT entry_id FROM raw.ledger "
        "WHERE booked_at >= CAST(? AS DATE) AND booked_at < CAST(? AS DATE) + 1",
        [first, last],
    )


def _ledger_changes(con, fx_from: date | None) -> None:
    """Entries loaded since; entries of rebuilt sessions (their charge point and plug-in time);
    entries booked from the first new ECB rate on."""
    con.execute(
        f"""INSERT INTO {SCHEMA}.ledger_entries
        SELECT entry_id FROM raw.ledger WHERE {_is_new("ledger")}
        UNION
        SELECT entry_id FROM raw.ledger WHERE session_id IN (SELECT session_id FROM {SCHEMA}.sessions)
        UNION
        SELECT entry_id FROM raw.ledger WHERE CAST(booked_at AS DATE) >= ?""",
        [fx_from],
    )


def _roaming_changes(con, fx_from: date | None, window: tuple[date, date] | tuple[None, None] = (None, None)) -> None:
    """CDRs loaded since and those ending from the first new ECB rate on, with their credit
    partners (a credit is attributed to the CDR it cancels, which is flagged cancelled), and
    their UTC reporting dates. A new CDR at a site whose attribution comes from CDRs (not in the
    site registry, or without coordinates there) changes every row of that site: full rebuild."""
    unattributed = con.execute(f"""
        WITH current_sites AS (
            SELECT site_id, latitude, longitude FROM raw.sites
            QUALIFY row_number() OVER (PARTITION BY site_id ORDER BY updated_at DESC) = 1
        )
        SELECT count(*) FROM raw.cdrs WHERE {_is_new("cdrs")} AND (location_id IS NULL OR location_id NOT IN (
            SELECT site_id FROM current_sites WHERE latitude IS NOT NULL AND longitude IS NOT NULL))""").fetchone()[0]
    if unattributed:
        raise _Full(
            f"{unattributed} new CDR(s) at sites whose roaming attribution comes from CDRs "
            "(not in the site registry, or without coordinates there)"
        )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE plan_cdr_seeds AS
        SELECT country_code, party_id, id, coalesce(credit, false) AS is_credit,
               nullif(credit_reference_id, '') AS referenced_id
        FROM raw.cdrs
        WHERE {_is_new("cdrs")} OR CAST(end_date_time AS DATE) >= ?
           OR CAST(end_date_time AS DATE) BETWEEN ? AND ?""",
        [fx_from, *window],
    )
    con.execute(f"""INSERT INTO {SCHEMA}.cdrs
        SELECT country_code, party_id, id FROM plan_cdr_seeds
        UNION
        SELECT country_code, party_id, referenced_id FROM plan_cdr_seeds WHERE is_credit AND referenced_id IS NOT NULL
        UNION
        SELECT c.country_code, c.party_id, c.id FROM raw.cdrs c
        JOIN plan_cdr_seeds s ON c.country_code = s.country_code AND c.party_id = s.party_id
            AND nullif(c.credit_reference_id, '') = s.id
        WHERE coalesce(c.credit, false)""")
    con.execute(f"""INSERT INTO {SCHEMA}.roaming_dates
        SELECT CAST(c.end_date_time AS DATE) FROM raw.cdrs c
        JOIN {SCHEMA}.cdrs k ON k.cpo_country_code = c.country_code AND k.cpo_party_id = c.party_id
            AND k.cdr_id = c.id
        WHERE c.end_date_time IS NOT NULL""")


def _full_if_cheaper(con) -> None:
    """Replacing most of a table key by key, or most of its dates, costs more than building it
    again."""
    totals = {
        "sessions": "SELECT count(DISTINCT session_id) FROM raw.sessions",
        "ledger_entries": "SELECT count(*) FROM raw.ledger",
        "cdrs": "SELECT count(*) FROM raw.cdrs",
        "network_dates": "SELECT datediff('day', min(plugged_in_at), max(plugged_in_at)) + 1 FROM raw.sessions",
        "roaming_dates": "SELECT datediff('day', min(end_date_time), max(end_date_time)) + 1 FROM raw.cdrs",
    }
    for table, total_sql in totals.items():
        n, total = _count(con, table), con.execute(total_sql).fetchone()[0] or 0
        if n > FULL_FLOOR[table] and n > FULL_SHARE * total:
            raise _Full(f"{n} of {total} {table.replace('_', ' ')} to rebuild: a full rebuild is cheaper")


def _prune(con, keep: int = 60) -> None:
    """Keep the latest `keep` plans, and always the last built one."""
    con.execute(f"""DELETE FROM {SCHEMA}.plans WHERE plan_id NOT IN (
            SELECT plan_id FROM {SCHEMA}.plans ORDER BY planned_at DESC LIMIT {int(keep)})
        AND plan_id <> coalesce((SELECT plan_id FROM {SCHEMA}.plans WHERE status = 'built'
                                 ORDER BY planned_at DESC LIMIT 1), '')""")
    con.execute(f"DELETE FROM {SCHEMA}.plan_sources WHERE plan_id NOT IN (SELECT plan_id FROM {SCHEMA}.plans)")


# -------------------------------------------------------------------------------------------------
# after the build


def finish_plan(con: duckdb.DuckDBPyConnection, plan_id: str) -> None:
    """The dbt build of `plan_id` succeeded (status built), or a `none` plan needed none (skipped):
    the next plan starts from what this one saw."""
    con.execute(
        f"UPDATE {SCHEMA}.plans SET status = CASE WHEN mode = 'none' THEN 'skipped' ELSE 'built' END, "
        "finished_at = ? WHERE plan_id = ?",
        [_now(), plan_id],
    )


def plan_build(
    build_db: Path,
    *,
    as_of: date,
    run_id: str | None = None,
    manifest: Path | None = None,
    full_refresh: bool = False,
    rebuild: tuple[date, date] | None = None,
) -> Plan:
    """Open the build database, plan, close it (DuckDB allows one writer: dbt opens it next)."""
    con = duckdb.connect(str(build_db))
    try:
        con.execute("SET TimeZone = 'UTC'")
        return make_plan(
            con,
            as_of=as_of,
            run_id=run_id,
            full_refresh=full_refresh,
            rebuild=rebuild,
            project=project_hash(manifest) if manifest else None,
        )
    finally:
        con.close()


def finish_build(build_db: Path, plan_id: str) -> None:
    con = duckdb.connect(str(build_db))
    try:
        finish_plan(con, plan_id)
    finally:
        con.close()
