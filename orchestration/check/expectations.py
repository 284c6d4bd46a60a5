"""The Great Expectations suites of the landing sources (`expectations/<source>.json`): the one
declaration of the semantic row rules, enforced two ways.

1. Compiled to SQL (`compile_suite`): every expectation type the suites use becomes a predicate
   the loader evaluates on every record in its one pass (orchestration/load/validate.py); a record
   an expectation flags is quarantined with the expectation as its rule. GX 1.x cannot validate
   DuckDB tables and validating every record as pandas frames took ~30x the SQL's time
   (DESIGN.md section 3), so this is how the suites run at the engine's speed.
2. By Great Expectations itself (`sample_check`): on every loaded batch, GX validates a bounded
   sample (the flagged records up to a cap, and a deterministic sample of the others) and its
   verdicts are compared with the SQL's, expectation by expectation; a difference fails the
   source's blocking check. Its validation results feed the Data Docs.

Suite parameters (`$PARAMETER`) are filled from what the build database already knows: registry
ids (plus those arriving in the same batch) and the engine's IANA time zones."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from functools import cache

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


@cache
def suite_json(source: str) -> dict:
    return json.loads((SUITES_DIR / f"{source}.json").read_text())


def column_range(source: str, column: str) -> tuple[float | int | None, float | int | None]:
    """(min_value, max_value) of the suite's unconditional expect_column_values_to_be_between on
    `column`: the one declaration of a plausibility limit (e.g. a session's 500 kWh), which the
    importer and every other check read from here instead of repeating it."""
    for exp in suite_json(source)["expectations"]:
        kw = exp["kwargs"]
        if (
            exp["type"] == "expect_column_values_to_be_between"
            and kw.get("column") == column
            and "row_condition" not in kw
        ):
            return kw.get("min_value"), kw.get("max_value")
    raise KeyError(f"expectations/{source}.json has no unconditional range on column {column!r}")


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


# ------------------------------------------------------------------------------------------------
# The suites compiled to SQL: how the loader enforces them on every record (validate.py)

SUPPORTED_KWARGS = {
    "expect_column_values_to_not_be_null": {"column"},
    "expect_column_values_to_be_null": {"column"},
    "expect_column_values_to_be_in_set": {"column", "value_set"},
    "expect_column_values_to_be_between": {"column", "min_value", "max_value", "strict_min", "strict_max"},
    "expect_column_pair_values_a_to_be_greater_than_b": {"column_A", "column_B", "or_equal", "ignore_row_if"},
    "expect_column_values_to_be_unique": {"column"},
    "expect_compound_columns_to_be_unique": {"column_list"},
}
CONDITION = re.compile(
    r"""\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=)\s*(True|False|"[^"\\]*"|'[^'\\]*'|-?[0-9]+(?:\.[0-9]+)?)\s*"""
)


@dataclass(frozen=True)
class CompiledExpectation:
    """One suite expectation as SQL over the typed columns of a batch's records."""

    index: int  # position in the suite: its bit in the loader's _gx mask
    name: str  # the rule a record failing it is quarantined with
    kind: str  # row | unique
    predicate: str | None  # row: TRUE when the record is unexpected
    columns: tuple[str, ...]  # unique: the key columns
    param: str | None  # the suite parameter (a set of known ids) it needs


def _sql_literal(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    raise ValueError(f"unsupported literal {v!r}")


def condition_sql(condition: str, column_type: str = "str") -> str:
    """A pandas row_condition of the form `column ==|!= value` as SQL with the semantics GX gives
    it on the loader's frames: `==` is false on a missing value; `!=` is true on a missing value
    of a text column (NaN semantics) but false on a missing boolean (pandas' nullable boolean:
    NA compares as NA, and query() drops it)."""
    m = CONDITION.fullmatch(condition)
    if not m:
        raise NotImplementedError(f"row_condition {condition!r}: only `column ==|!= literal` is compiled to SQL")
    col, op, lit = m.groups()
    value = {"True": "true", "False": "false"}.get(lit)
    if value is None:
        value = "'" + lit[1:-1].replace("'", "''") + "'" if lit[0] in "\"'" else lit
    if op == "==":
        return f"coalesce({col} = {value}, false)"
    return f"coalesce({col} <> {value}, false)" if column_type == "bool" else f"({col} IS DISTINCT FROM {value})"


def compile_expectation(index: int, exp: dict, types: dict[str, str] | None = None) -> CompiledExpectation:
    """The SQL that flags exactly the rows GX 1.x flags for this expectation (on a pandas frame of
    the same typed records; tests/check/test_compiled_expectations.py proves it per expectation)."""
    typ, kw = exp["type"], dict(exp["kwargs"])
    cond = None
    if "row_condition" in kw:
        if kw.pop("condition_parser", None) != "pandas":
            raise NotImplementedError(f"{typ}: only the pandas condition_parser is compiled")
        cond_text = kw.pop("row_condition")
        m = CONDITION.fullmatch(cond_text)
        cond = condition_sql(cond_text, (types or {}).get(m.group(1), "str") if m else "str")
    if typ not in SUPPORTED_KWARGS or set(kw) - SUPPORTED_KWARGS[typ]:
        raise NotImplementedError(f"{typ} with {sorted(kw)} is not compiled to SQL")
    name = rule_text(exp)
    param = None
    if typ in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
        cols = tuple(kw.get("column_list") or [kw["column"]])
        return CompiledExpectation(index, name, "unique", None, cols, None)
    if typ == "expect_column_pair_values_a_to_be_greater_than_b":
        if kw.get("ignore_row_if", "both_values_are_missing") != "either_value_is_missing":
            raise NotImplementedError(f"{typ}: only ignore_row_if=either_value_is_missing is compiled")
        a, b = kw["column_A"], kw["column_B"]
        op = ">=" if kw.get("or_equal") else ">"
        pred = f"{a} IS NOT NULL AND {b} IS NOT NULL AND NOT ({a} {op} {b})"
        cols = (a, b)
    else:
        col = kw["column"]
        cols = (col,)
        if typ == "expect_column_values_to_not_be_null":
            pred = f"{col} IS NULL"
        elif typ == "expect_column_values_to_be_null":
            pred = f"{col} IS NOT NULL"
        elif typ == "expect_column_values_to_be_in_set":
            vs = kw["value_set"]
            if isinstance(vs, dict):
                param = vs["$PARAMETER"]
                pred = f"{col} IS NOT NULL AND {col} NOT IN (SELECT v FROM _known_{param})"
            else:
                pred = f"{col} IS NOT NULL AND {col} NOT IN ({', '.join(_sql_literal(v) for v in vs)})"
        else:  # between
            ok = []
            if kw.get("min_value") is not None:
                ok.append(f"{col} {'>' if kw.get('strict_min') else '>='} {_sql_literal(kw['min_value'])}")
            if kw.get("max_value") is not None:
                ok.append(f"{col} {'<' if kw.get('strict_max') else '<='} {_sql_literal(kw['max_value'])}")
            if not ok:
                raise NotImplementedError(f"{typ} without min_value or max_value")
            pred = f"{col} IS NOT NULL AND NOT ({' AND '.join(ok)})"
    if cond:
        pred = f"{cond} AND {pred}"
    return CompiledExpectation(index, name, "row", pred, cols, param)


@cache
def compile_suite(source: str) -> tuple[CompiledExpectation, ...]:
    exps = suite_json(source)["expectations"]
    if len(exps) > 62:
        raise ValueError(f"expectations/{source}.json: at most 62 expectations fit the loader's bit mask")
    from orchestration.contract import SOURCES

    types = {f.name: f.type for f in SOURCES[source].fields}
    return tuple(compile_expectation(i, e, types) for i, e in enumerate(exps))


def known_set_sql(param: str, source: str, batch: str | None) -> str:
    """SELECT v: the values of suite parameter `param` — the engine's IANA time zones, or the ids
    known to the build database (for a registry checking its own ids, plus those of the
    structurally good records of the batch being loaded, relation `batch`, when given)."""
    if param == "iana_time_zones":
        return "SELECT name AS v FROM pg_timezone_names()"
    reg, col = KNOWN_IDS[param]
    sql = f"SELECT DISTINCT {col} AS v FROM raw.{reg} WHERE {col} IS NOT NULL"
    if reg == source and batch:
        sql += f" UNION SELECT {col} AS v FROM {batch} WHERE {col} IS NOT NULL AND _struct_ok"
    return sql


@cache
def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


_GX_LOCK = threading.Lock()


def _suite_and_batch_definition(source: str):
    """The source's suite and a pandas batch definition in GX's context (made once; the loader
    may ask for it from a thread while its main thread does too)."""
    with _GX_LOCK:
        return _make_suite_and_batch_definition(source)


@cache
def _make_suite_and_batch_definition(source: str):
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    ctx = _context()
    spec = suite_json(source)
    suite = gx.ExpectationSuite(name=spec["name"])
    for exp in spec["expectations"]:
        cfg = ExpectationConfiguration(type=exp["type"], kwargs=exp["kwargs"], meta=exp.get("meta"))
        suite.add_expectation_configuration(cfg)
    suite = ctx.suites.add(suite)
    bd = (
        ctx.data_sources.add_pandas(f"landing_{source}")
        .add_dataframe_asset(source)
        .add_batch_definition_whole_dataframe("incoming")
    )
    return suite, bd


def parameter_columns(source: str) -> dict[str, list[str]]:
    """{suite parameter: the columns whose values the suite checks against it}."""
    columns: dict[str, list[str]] = {}
    for exp in suite_json(source)["expectations"]:
        for v in exp["kwargs"].values():
            if isinstance(v, dict) and "$PARAMETER" in v and exp["kwargs"].get("column"):
                columns.setdefault(v["$PARAMETER"], []).append(exp["kwargs"]["column"])
    return columns


def parameter_values(
    con: duckdb.DuckDBPyConnection, source: str, table: str | None, rows_sql: str | None = None
) -> dict:
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
            sql += f" UNION SELECT DISTINCT {col} FROM {table} WHERE {col} IS NOT NULL AND _struct_ok"
        if rows_sql is not None and columns.get(name):
            used = " UNION ".join(f"SELECT {c} AS used_id FROM ({rows_sql})" for c in columns[name])
            sql = f"SELECT * FROM ({sql}) AS known (id) WHERE id IN (SELECT used_id FROM ({used}))"
        values[name] = [r[0] for r in con.execute(sql).fetchall()]
    return values


def outcomes_from_sql(con: duckdb.DuckDBPyConnection, source: str, table: str) -> list[ExpectationOutcome]:
    """Per expectation, the records of `table` (the loader's _checked) the SQL flagged."""
    compiled = compile_suite(source)
    if not compiled:
        return []
    counts = con.execute(
        "SELECT " + ", ".join(f"count(*) FILTER (WHERE _gx & {1 << c.index} <> 0)" for c in compiled) + f" FROM {table}"
    ).fetchall()[0]
    out = []
    for c, n in zip(compiled, counts):
        e = suite_json(source)["expectations"][c.index]
        out.append(ExpectationOutcome(e["type"], ",".join(c.columns), e["meta"].get("why", ""), int(n)))
    return out


@dataclass
class SampleCheck:
    """Great Expectations on a bounded sample of a loaded batch, against the SQL's verdicts."""

    source: str
    rows: int = 0  # records validated by GX
    flagged: int = 0  # of which the SQL flagged
    disagreements: list[str] = field(default_factory=list)
    result: dict | None = None  # GX's validation result (for the Data Docs)


def sample_sql(source: str, table: str, flagged_mod: int, other_mod: int) -> str:
    """The sample: among one representative per key and content of the structurally good records
    (what GX validated when it saw every record), the flagged ones and the others, each taken by
    a hash of the key (deterministic; all versions of a key come together, so a uniqueness
    expectation sees whole groups)."""
    from orchestration.contract import SOURCES

    src = SOURCES[source]
    h = f"hash({', '.join(src.key)})"
    cols = ", ".join(src.columns)
    return (
        f"SELECT row_number() OVER () - 1 AS _row, _gx, {cols} FROM {table} WHERE _rep AND "
        f"((_gx <> 0 AND {h} % {flagged_mod} = 0) OR (_gx = 0 AND {h} % {other_mod} = 0))"
    )


def sample_check(
    con: duckdb.DuckDBPyConnection, source: str, table: str, rows: int, run_id: str | None = None
) -> SampleCheck:
    """Validate about `rows` flagged and `rows` other records of `table` with the source's suite in
    Great Expectations and compare, expectation by expectation, the rows GX finds unexpected with
    the rows the SQL flagged (the `_gx` bits). Any difference is a disagreement."""
    return validate_sample(sample_frame(con, source, table, rows))


@dataclass
class Sample:
    """The records of a batch GX validates (fetched from DuckDB), and the suite's parameters."""

    source: str
    df: object  # pandas DataFrame with _row, _gx and the contract columns
    params: dict


def sample_frame(con: duckdb.DuckDBPyConnection, source: str, table: str, rows: int) -> Sample:
    """The sample (sample_sql) of `table` as a frame, with the suite parameters it needs."""
    if not compile_suite(source):
        return Sample(source, None, {})
    n_flagged, n_other = con.execute(
        f"SELECT count(*) FILTER (WHERE _gx <> 0), count(*) FILTER (WHERE _gx = 0) FROM {table} WHERE _rep"
    ).fetchall()[0]
    sql = sample_sql(source, table, max(1, -(-n_flagged // rows)), max(1, -(-n_other // rows)))
    df = con.execute(sql).df()
    return Sample(source, df, parameter_values(con, source, table, sql) if len(df) else {})


def validate_sample(sample: Sample) -> SampleCheck:
    """GX on the sample, compared with the SQL's verdicts (pure Python: may run on a thread while
    the connection does other work)."""
    source, df = sample.source, sample.df
    check = SampleCheck(source)
    if df is None:
        return check
    check.rows, check.flagged = len(df), int((df["_gx"] != 0).sum()) if len(df) else 0
    if df.empty:
        return check
    compiled = compile_suite(source)
    suite, bd = _suite_and_batch_definition(source)
    res = bd.get_batch(batch_parameters={"dataframe": df}).validate(
        suite,
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["_row"]},
        expectation_parameters=sample.params,
    )
    check.result = res.to_json_dict()
    by_name = {c.name: c for c in compiled}
    masks = df["_gx"].tolist()
    seen = set()
    for r in res.results:
        exp = r.expectation_config
        name = rule_text({"type": exp.type, "kwargs": exp.kwargs, "meta": exp.meta or {}})
        c = by_name.get(name)
        if c is None:
            check.disagreements.append(f"{name}: GX ran an expectation the SQL does not know")
            continue
        seen.add(name)
        if r.exception_info and r.exception_info.get("raised_exception"):
            check.disagreements.append(f"{name}: GX could not run it: {r.exception_info.get('exception_message')}")
            continue
        gx_rows = {int(i["_row"]) for i in (r.result.get("unexpected_index_list") or [])}
        sql_rows = {i for i, m in enumerate(masks) if m & (1 << c.index)}
        if gx_rows != sql_rows:
            only_gx, only_sql = sorted(gx_rows - sql_rows), sorted(sql_rows - gx_rows)
            check.disagreements.append(
                f"{name}: GX flags {len(gx_rows)} of the {len(df)} sampled records, the SQL {len(sql_rows)} "
                f"(only GX: {_examples(df, only_gx, c)}; only SQL: {_examples(df, only_sql, c)})"
            )
    for name in by_name.keys() - seen:
        check.disagreements.append(f"{name}: GX did not run it")
    return check


def prepare(source: str) -> None:
    """Build GX's context and the source's suite (a few seconds, once per process) ahead of use."""
    if compile_suite(source):
        _suite_and_batch_definition(source)


def _examples(df, rows: list[int], c: CompiledExpectation) -> str:
    if not rows:
        return "none"
    cols = [col for col in c.columns if col in df.columns]

    def value(r, col):
        v = df.at[r, col]
        return v.item() if hasattr(v, "item") else v

    shown = [", ".join(f"{col}={value(r, col)!r}" for col in cols) for r in rows[:3]]
    return f"{len(rows)}: " + "; ".join(shown) + (" …" if len(rows) > 3 else "")
