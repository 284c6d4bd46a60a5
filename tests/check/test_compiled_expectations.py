"""The Great Expectations suites compiled to SQL flag exactly the rows GX flags.

For every suite (expectations/<source>.json) a corpus of typed records is built from the suite
itself: one valid record per row, plus, for each expectation, records that break it (values
outside a set, both sides of every bound and the bound itself, strict bounds, pairs in the
wrong order, equal pairs, missing values on either side, duplicate and near-duplicate keys,
unknown ids) and records that only look like they do (a missing value where GX ignores it, a
row condition that is false or NULL). The corpus is validated twice — by the compiled SQL
predicates, as the loader evaluates them (orchestration/load/validate.py), and by Great
Expectations on the same records as a pandas frame — and the flagged rows are compared,
expectation by expectation. Values are what the loader can produce (typed by the contract:
finite numbers, DECIMAL(18,4) money, UTC timestamps)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import duckdb
import pyarrow as pa
import pytest

from orchestration.check import expectations as X
from orchestration.contract import SOURCES

KNOWN = {p: [f"{p}-a", f"{p}-b"] for p in X.KNOWN_IDS}
BASE_TS = datetime(2025, 1, 1, 10, 0, 0)


def _default(f, i: int):
    match f.type:
        case "str":
            return f.enum[0] if f.enum else f"{f.name}-{i}"
        case "int":
            return 1
        case "float":
            return 1.0
        case "money":
            return Decimal("1.0000")
        case "bool":
            return False
        case "ts":
            return BASE_TS + timedelta(seconds=i) if f.name == "updated_at" else BASE_TS
        case "date":
            return date(2020, 1, 1) + timedelta(days=i)
        case "json":
            return "{}"
    raise ValueError(f.type)


def _cast(f, v):
    """A value of the column's type (bounds in the suites are JSON numbers)."""
    if v is None:
        return None
    match f.type:
        case "int":
            return int(v)
        case "float":
            return float(v)
        case "money":
            return Decimal(str(v)).quantize(Decimal("0.0001"))
    return v


def _step(f):
    return {"int": 1, "float": 0.001, "money": Decimal("0.0001")}.get(f.type)


def _cond_parts(kw):
    m = X.CONDITION.fullmatch(kw["row_condition"]) if "row_condition" in kw else None
    if not m:
        return None
    col, op, lit = m.groups()
    if lit in ("True", "False"):
        value = lit == "True"
    else:
        value = lit.strip("\"'") if lit[0] in "\"'" else float(lit)
    return col, op, value


def _cond_holds(rec, cond) -> bool:
    if cond is None:
        return True
    col, op, value = cond
    return (rec[col] == value) if op == "==" else not (rec[col] == value)


def _make_true(rec, cond, src, other="OTHER"):
    col, op, value = cond
    if op == "==":
        rec[col] = value
    elif rec[col] == value:
        f = src.field(col)
        rec[col] = (not value) if f.type == "bool" else next((v for v in (f.enum or ()) if v != value), other)


def _make_valid(rec, exp, src):
    kw, typ = exp["kwargs"], exp["type"]
    cond = _cond_parts(kw)
    if not _cond_holds(rec, cond):
        return
    if typ == "expect_column_values_to_be_null":
        rec[kw["column"]] = None
    elif typ == "expect_column_values_to_be_in_set":
        vs = kw["value_set"]
        values = KNOWN[vs["$PARAMETER"]] if isinstance(vs, dict) and vs["$PARAMETER"] in KNOWN else vs
        if isinstance(values, dict):  # iana_time_zones
            values = ["Europe/Oslo"]
        if rec[kw["column"]] is not None and rec[kw["column"]] not in values:
            rec[kw["column"]] = values[0]
    elif typ == "expect_column_values_to_be_between":
        f = src.field(kw["column"])
        lo, hi = kw.get("min_value"), kw.get("max_value")
        v = rec[kw["column"]]
        if v is not None and not ((lo is None or v > lo) and (hi is None or v < hi)):
            mid = (lo + hi) / 2 if lo is not None and hi is not None else (lo + 1 if lo is not None else hi - 1)
            rec[kw["column"]] = _cast(f, mid)
    elif typ == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = kw["column_A"], kw["column_B"]
        if (
            rec[a] is not None
            and rec[b] is not None
            and not (rec[a] > rec[b] or (kw.get("or_equal") and rec[a] == rec[b]))
        ):
            rec[a] = rec[b] if kw.get("or_equal") else rec[b] + (_step(src.field(b)) or timedelta(seconds=1))


def base_record(src, suite, i: int) -> dict:
    rec = {f.name: _default(f, i) for f in src.fields}
    for _ in range(3):  # bounds first, then pairs (a pair's columns may be bounded too)
        for e in sorted(suite, key=lambda e: e["type"] == "expect_column_pair_values_a_to_be_greater_than_b"):
            _make_valid(rec, e, src)
    return rec


def variants(src, suite, exp, new) -> list[dict]:
    """Records around one expectation; `new()` gives a fresh valid record (its own key)."""
    kw, typ = exp["kwargs"], exp["type"]
    cond = _cond_parts(kw)
    out = []

    def make(**changes):
        rec = new()
        if cond is not None and changes.pop("_cond_true", True):
            _make_true(rec, cond, src)
        rec.update(changes)
        out.append(rec)

    def with_cond_cases(**changes):
        make(**changes)
        if cond is not None:  # the same value where the condition is false, or NULL
            col = cond[0]
            for cv in (
                None,
                "OTHER-VALUE" if src.field(col).type == "str" else (not cond[2] if cond[1] == "==" else cond[2]),
            ):
                rec = new()
                rec.update(changes)
                rec[col] = cv
                out.append(rec)

    if typ == "expect_column_values_to_not_be_null":
        with_cond_cases(**{kw["column"]: None})
    elif typ == "expect_column_values_to_be_null":
        f = src.field(kw["column"])
        with_cond_cases(**{kw["column"]: _default(f, 99999)})
    elif typ == "expect_column_values_to_be_in_set":
        col = kw["column"]
        vs = kw["value_set"]
        member = (KNOWN.get(vs["$PARAMETER"], ["Europe/Oslo"]) if isinstance(vs, dict) else vs)[0]
        for v in ("NOT-IN-SET", member.lower() if member.lower() != member else member + "x", "", None, member):
            with_cond_cases(**{col: v})
    elif typ == "expect_column_values_to_be_between":
        f = src.field(kw["column"])
        step = _step(f)
        for bound in (kw.get("min_value"), kw.get("max_value")):
            if bound is None:
                continue
            for d in (-step, 0, step):
                with_cond_cases(**{f.name: _cast(f, Decimal(str(bound)) + Decimal(str(d)))})
        with_cond_cases(**{f.name: None})
        if f.type in ("float", "money"):
            with_cond_cases(**{f.name: _cast(f, -0.0)})
    elif typ == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = src.field(kw["column_A"]), src.field(kw["column_B"])
        base = new()
        step = _step(b) or timedelta(seconds=1)
        for va, vb in (
            (base[b.name], base[b.name]),
            (base[b.name] - step, base[b.name]),
            (base[b.name] + step, base[b.name]),
            (None, base[b.name]),
            (base[b.name], None),
            (None, None),
        ):
            make(**{a.name: va, b.name: vb})
    elif typ in ("expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique"):
        cols = kw.get("column_list") or [kw["column"]]
        first = new()
        out.append(first)
        twin = new()  # same key, other content: both flagged
        twin.update({c: first[c] for c in cols})
        other = next(f for f in src.fields if f.name not in cols and f.type in ("str", "float") and not f.enum)
        twin[other.name] = "changed" if other.type == "str" else first[other.name] + 1
        out.append(twin)
        near = new()  # all but one key column equal: unique
        near.update({c: first[c] for c in cols[:-1]})
        out.append(near)
    return out


def corpus(source: str) -> list[dict]:
    src = SOURCES[source]
    suite = X.suite_json(source)["expectations"]
    counter = iter(range(1, 10**6))

    def new():
        return base_record(src, suite, next(counter))

    rows = [new() for _ in range(3)]
    for exp in suite:
        rows += variants(src, suite, exp, new)
    return rows


def typed_table(con, source: str, rows: list[dict]) -> None:
    src = SOURCES[source]
    cols = ", ".join(f"{f.name} {f.sql_type}" for f in src.fields)
    con.execute(f"CREATE OR REPLACE TABLE t (_row BIGINT, {cols})")
    data = {"_row": list(range(len(rows)))}
    for f in src.fields:
        data[f.name] = [r[f.name] for r in rows]
    con.register(
        "_rows",
        pa.table(
            {
                k: pa.array(v) if k == "_row" else pa.array(v, pa.string() if all(x is None for x in v) else None)
                for k, v in data.items()
            }
        ),
    )
    con.execute(
        f"INSERT INTO t SELECT _row, {', '.join(f'CAST({f.name} AS {f.sql_type})' for f in src.fields)} FROM _rows"
    )
    con.unregister("_rows")


def sql_flags(con, source: str) -> dict[str, set[int]]:
    """The rows each compiled expectation flags, evaluated the way the loader does."""
    src = SOURCES[source]
    flags = {}
    for c in X.compile_suite(source):
        if c.kind == "unique":
            part = ", ".join(c.columns)
            hashed = (
                "md5(concat_ws(chr(31), "
                + ", ".join(f"coalesce(CAST({f.name} AS VARCHAR), chr(0))" for f in src.fields)
                + "))"
            )
            sql = (
                f"SELECT _row FROM (SELECT _row, min({hashed}) OVER (PARTITION BY {part}) <> "
                f"max({hashed}) OVER (PARTITION BY {part}) AS f FROM t) WHERE f"
            )
        else:
            ctes = ", ".join(f"_known_{p} AS ({X.known_set_sql(p, source, None)})" for p in [c.param] if p)
            sql = (f"WITH {ctes} " if ctes else "") + f"SELECT _row FROM t WHERE {c.predicate}"
        flags[c.name] = {r[0] for r in con.execute(sql).fetchall()}
    return flags


def gx_flags(con, source: str) -> dict[str, set[int]]:
    suite, bd = X._suite_and_batch_definition(source)
    df = con.execute("SELECT * FROM t ORDER BY _row").df()
    params = {
        p: (KNOWN[p] if p in KNOWN else [r[0] for r in con.execute("SELECT name FROM pg_timezone_names()").fetchall()])
        for p in X.suite_parameters(source)
    }
    res = bd.get_batch(batch_parameters={"dataframe": df}).validate(
        suite,
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["_row"]},
        expectation_parameters=params,
    )
    out = {}
    for r in res.results:
        e = r.expectation_config
        assert not (r.exception_info or {}).get("raised_exception"), r.exception_info
        name = X.rule_text({"type": e.type, "kwargs": e.kwargs, "meta": e.meta or {}})
        out[name] = {int(i["_row"]) for i in (r.result.get("unexpected_index_list") or [])}
    return out


@pytest.fixture
def raw_db(tmp_path):
    """A database whose raw registries hold the known ids (the $PARAMETER sets)."""
    from orchestration.load.schema import ensure_raw_schema

    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    ensure_raw_schema(con)
    for param, (reg, col) in X.KNOWN_IDS.items():
        for v in KNOWN[param]:
            con.execute(f"INSERT INTO raw.{reg} ({col}) VALUES (?)", [v])
    yield con
    con.close()


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_sql_and_great_expectations_flag_the_same_rows(raw_db, source):
    rows = corpus(source)
    typed_table(raw_db, source, rows)
    sql, gx = sql_flags(raw_db, source), gx_flags(raw_db, source)
    assert set(sql) == set(gx)
    for name in sql:
        assert sql[name] == gx[name], (name, sorted(sql[name] - gx[name]), sorted(gx[name] - sql[name]))
        # the corpus exercises every expectation: some rows break it, most do not
        assert 0 < len(sql[name]) < len(rows), (name, len(sql[name]))


def test_every_expectation_type_of_the_suites_compiles():
    types = {e["type"] for s in SOURCES for e in X.suite_json(s)["expectations"]}
    assert types == set(X.SUPPORTED_KWARGS)
    with pytest.raises(NotImplementedError):
        X.compile_expectation(
            0, {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "a", "regex": "x"}, "meta": {}}
        )
    with pytest.raises(NotImplementedError):
        X.compile_expectation(
            0, {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a", "mostly": 0.9}, "meta": {}}
        )
    with pytest.raises(NotImplementedError):
        X.condition_sql("a > 3")
