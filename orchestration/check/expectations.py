"""Great Expectations on incoming batches (DESIGN.md section 3: GX 1.x validates pandas frames,
not DuckDB tables).

The suite of each landing source is `expectations/<source>.json`. The loader hands over the
typed records of a batch that passed the structural checks; every row an expectation finds
unexpected is returned with the expectation as its rule, and goes to quarantine. Suite
parameters (`$PARAMETER`) are filled from what the build database already knows: registry ids
(plus those arriving in the same batch) and the engine's IANA time zones."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import duckdb

from orchestration.config import PROJECT_DIR

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
log = logging.getLogger(__name__)

SUITES_DIR = PROJECT_DIR / "expectations"
# Records validated per pandas frame: bounds the loader's memory on a big batch (each frame is a
# few hundred MB) while keeping GX's fixed cost per validation (~0.3 s) small.
CHUNK_ROWS = 250_000

# parameter -> (registry source, id column): the ids loaded so far
KNOWN_IDS = {
    "known_operator_ids": ("operators", "operator_id"),
    "known_team_ids": ("teams", "team_id"),
    "known_site_ids": ("sites", "site_id"),
    "known_charge_point_ids": ("charge_points", "charge_point_id"),
    "known_plan_ids": ("plans", "plan_id"),
    "known_cdr_ids": ("cdrs", "id"),
}


@dataclass
class ExpectationOutcome:
    expectation: str
    column: str
    why: str
    unexpected: int = 0
    error: str | None = None


@dataclass
class BatchValidation:
    failures: dict[int, str] = field(default_factory=dict)  # _row -> rule
    outcomes: list[ExpectationOutcome] = field(default_factory=list)


@cache
def suite_json(source: str) -> dict:
    return json.loads((SUITES_DIR / f"{source}.json").read_text())


def suite_parameters(source: str) -> list[str]:
    params = []
    for exp in suite_json(source)["expectations"]:
        for v in exp["kwargs"].values():
            if isinstance(v, dict) and "$PARAMETER" in v:
                params.append(v["$PARAMETER"])
    return params


def rule_text(exp: dict) -> str:
    kw = exp["kwargs"]
    cols = kw.get("column") or ",".join(kw.get("column_list") or [kw.get("column_A", ""), kw.get("column_B", "")])
    return f"{exp['type']}({cols}): {exp['meta'].get('why', '')}"


@cache
def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


@cache
def _suite_and_batch_definition(source: str):
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    ctx = _context()
    spec = suite_json(source)
    suite = gx.ExpectationSuite(name=spec["name"])
    for exp in spec["expectations"]:
        cfg = ExpectationConfiguration(type=exp["type"], kwargs=exp["kwargs"], meta=exp.get("meta"))
        suite.add_expectation_configuration(cfg)
    suite = ctx.suites.add(suite)
    bd = (ctx.data_sources.add_pandas(f"landing_{source}")
          .add_dataframe_asset(source).add_batch_definition_whole_dataframe("incoming"))
    return suite, bd


def parameter_columns(source: str) -> dict[str, list[str]]:
    """{suite parameter: the columns whose values the suite checks against it}."""
    columns: dict[str, list[str]] = {}
    for exp in suite_json(source)["expectations"]:
        for v in exp["kwargs"].values():
            if isinstance(v, dict) and "$PARAMETER" in v and exp["kwargs"].get("column"):
                columns.setdefault(v["$PARAMETER"], []).append(exp["kwargs"]["column"])
    return columns


def parameter_values(con: duckdb.DuckDBPyConnection, source: str, table: str | None,
                     rows_sql: str | None = None) -> dict:
    """The suite parameters of `source`: ids known to the build database (plus, for a registry,
    the good records of `table`, the batch being loaded) and the engine's time zones.

    With `rows_sql` (the records to validate), a set of known ids holds only the ids those
    records use in the checked columns: `value in known` is the same test with the intersection,
    and GX copies a value set many times per expectation (a million known CDR ids made a batch
    of a few hundred CDRs take minutes)."""
    values: dict[str, list] = {}
    columns = parameter_columns(source)
    for name in suite_parameters(source):
        if name == "iana_time_zones":
            values[name] = [r[0] for r in con.execute("SELECT name FROM pg_timezone_names()").fetchall()]
            continue
        reg, col = KNOWN_IDS[name]
        sql = f"SELECT DISTINCT {col} FROM raw.{reg} WHERE {col} IS NOT NULL"
        if reg == source and table:  # ids arriving in this same batch count as known
            sql += f" UNION SELECT DISTINCT {col} FROM {table} WHERE {col} IS NOT NULL AND _rule IS NULL"
        if rows_sql is not None and columns.get(name):
            used = " UNION ".join(f"SELECT {c} AS used_id FROM ({rows_sql})" for c in columns[name])
            sql = f"SELECT * FROM ({sql}) AS known (id) WHERE id IN (SELECT used_id FROM ({used}))"
        values[name] = [r[0] for r in con.execute(sql).fetchall()]
    return values


def validate_batch(con: duckdb.DuckDBPyConnection, source: str, table: str, rows_sql: str) -> BatchValidation:
    """Validate the rows `rows_sql` selects (must include `_row` and the contract columns) with the
    source's suite. Returns the failing `_row`s with their rule, and a per-expectation summary."""
    suite, bd = _suite_and_batch_definition(source)
    params = parameter_values(con, source, table, rows_sql)
    spec = {rule_text(e): e for e in suite_json(source)["expectations"]}
    outcomes = {name: ExpectationOutcome(e["type"], e["kwargs"].get("column") or
                                         ",".join(e["kwargs"].get("column_list") or [e["kwargs"].get("column_A", ""), e["kwargs"].get("column_B", "")]),
                                         e["meta"].get("why", "")) for name, e in spec.items()}
    result = BatchValidation(outcomes=list(outcomes.values()))
    # One pass over the records, fetched frame by frame (no ORDER BY / OFFSET: re-sorting the
    # whole batch for every frame made a ten-million-record batch quadratic).
    con.execute(rows_sql)
    while True:
        df = con.fetch_df_chunk(CHUNK_ROWS // 2048)
        if df.empty:
            break
        res = bd.get_batch(batch_parameters={"dataframe": df}).validate(
            suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["_row"]},
            expectation_parameters=params)
        for r in res.results:
            exp = r.expectation_config
            name = rule_text({"type": exp.type, "kwargs": exp.kwargs, "meta": exp.meta or {}})
            outcome = outcomes.get(name)
            if r.exception_info and r.exception_info.get("raised_exception"):
                msg = r.exception_info.get("exception_message")
                if outcome:
                    outcome.error = msg
                raise RuntimeError(f"expectation {name} could not run on {source}: {msg}")
            if r.success:
                continue
            rows = [int(i["_row"]) for i in (r.result.get("unexpected_index_list") or [])]
            if outcome:
                outcome.unexpected += len(rows)
            for row in rows:
                result.failures.setdefault(row, name)
    return result
