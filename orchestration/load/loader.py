"""Load new landing files of one source into its raw table, exactly once per file content.

Per file, in one transaction: read (readers.py) → type and check every record in SQL
(validate.py) → split into loaded / quarantined / duplicate → append → audit. The counts
reconcile: rows read = rows loaded + rows quarantined + duplicates skipped. A file that is
refused (format, header, encoding, or more than `max_bad_share` bad records) loads nothing: it
gets an audit row with the reason, and the run's gate fails until it is dealt with.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.check import expectations
from orchestration.contract import SOURCES, Source
from orchestration.load import readers
from orchestration.load.schema import ensure_raw_schema
from orchestration.load.validate import validation_sql

log = logging.getLogger(__name__)

FILE_PATTERNS = {"csv": ("*.csv",), "jsonl": ("*.jsonl", "*.ndjson", "*.json"), "ecb_csv": ("*.csv",)}


@dataclass
class FileResult:
    file: str
    file_hash: str
    status: str  # loaded | refused | skipped (content already loaded)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    message: str | None = None


@dataclass
class SourceResult:
    source: str
    files: list[FileResult] = field(default_factory=list)
    expectations: list = field(default_factory=list)  # ExpectationOutcome per expectation

    def _sum(self, attr: str) -> int:
        return sum(getattr(f, attr) for f in self.files)

    @property
    def refused(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "refused"]

    def summary(self) -> dict:
        return {
            "files_found": len(self.files),
            "files_loaded": sum(f.status == "loaded" for f in self.files),
            "files_skipped": sum(f.status == "skipped" for f in self.files),
            "files_refused": len(self.refused),
            "rows_read": self._sum("rows_read"),
            "rows_loaded": self._sum("rows_loaded"),
            "rows_quarantined": self._sum("rows_quarantined"),
            "rows_duplicate": self._sum("rows_duplicate"),
        }


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def discover(landing: Path, src: Source) -> list[Path]:
    folder = landing / src.name
    if not folder.is_dir():
        return []
    pattern_root = folder.glob("*/") if src.provider_folders else [folder]
    found: set[Path] = set()
    for d in pattern_root:
        if not d.is_dir():
            continue
        for pat in FILE_PATTERNS[src.format]:
            found.update(p for p in d.glob(pat) if p.is_file())
    return sorted(found)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def connect(db_path: Path) -> duckdb.DuckDBPyConnection:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path))
    con.execute("SET TimeZone = 'UTC'")
    return con


def load_source(con: duckdb.DuckDBPyConnection, source: str, landing: Path, *,
                max_bad_share: float = 0.05, run_id: str | None = None,
                expectations: bool = True, include=None) -> SourceResult:
    """Load every new file of `source`. Phase 1 reads and type-checks each new file (a file
    that is not the stated format is refused here); phase 2 validates all new records at once
    with the source's Great Expectations suite; phase 3 classifies and appends file by file, each
    in its own transaction. `include(relative_path)` limits the run to some files (a partition)."""
    src = SOURCES[source]
    ensure_raw_schema(con)
    result = SourceResult(source)
    landing = Path(landing)
    con.execute("DROP TABLE IF EXISTS _checked")
    pending: list[tuple[str, str]] = []
    next_row = 0
    for path in discover(landing, src):
        rel = path.relative_to(landing).as_posix()
        if include is not None and not include(rel):
            continue
        digest = file_sha256(path)
        con.execute(
            "INSERT INTO raw._files_seen VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [source, rel, digest, path.stat().st_size, _now()])
        if (any(d == digest for _, d in pending) or
                con.execute("SELECT 1 FROM raw._loaded_files WHERE file_hash = ?", [digest]).fetchone()):
            result.files.append(FileResult(rel, digest, "skipped"))
            continue
        try:
            next_row = _read_and_check(con, src, path, rel, digest, next_row)
        except readers.BatchRefused as e:
            fr = FileResult(rel, digest, "refused", message=str(e))
            _audit(con, src, fr, run_id, _now())
            result.files.append(fr)
            log.warning("%s %s: refused — %s", source, rel, e)
            continue
        pending.append((rel, digest))
    if pending and expectations:
        result.expectations = _apply_expectations(con, src)
    for rel, digest in pending:
        t0 = time.perf_counter()
        con.execute("BEGIN TRANSACTION")
        try:
            fr = _classify_and_append(con, src, rel, digest, max_bad_share, run_id, _now())
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        result.files.append(fr)
        log.info("%s %s: %s read=%d loaded=%d quarantined=%d duplicate=%d (%.1fs)%s", source, rel,
                 fr.status, fr.rows_read, fr.rows_loaded, fr.rows_quarantined, fr.rows_duplicate,
                 time.perf_counter() - t0, f" — {fr.message}" if fr.message else "")
    con.execute("DROP TABLE IF EXISTS _checked")
    return result


def _read(src: Source, path: Path):
    if src.format == "jsonl":
        yield from readers.read_jsonl(path)
    elif src.format == "csv":
        yield readers.read_csv(path, src)
    else:
        yield readers.read_ecb(path)


def _read_and_check(con, src: Source, path: Path, rel: str, digest: str, first_row: int) -> int:
    """Append the file's records, typed and with their structural rule, to the temp table
    `_checked` (with _file_hash and a batch-wide row id _row). Returns the next free _row."""
    next_row = first_row
    for chunk in _read(src, path):
        con.register("_reader_chunk", chunk)
        sql = (f"SELECT *, CAST(? AS VARCHAR) AS _file_hash, ? + row_number() OVER () - 1 AS _row "
               f"FROM ({validation_sql(src, '_reader_chunk', rel)})")
        exists = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = '_checked'").fetchone()[0]
        if exists:
            con.execute(f"INSERT INTO _checked {sql}", [digest, next_row])
        else:
            con.execute(f"CREATE TEMP TABLE _checked AS {sql}", [digest, next_row])
        con.unregister("_reader_chunk")
        next_row += chunk.num_rows
    return next_row


def _apply_expectations(con, src: Source) -> list:
    """Run the GX suite on the structurally good records (one representative per key and
    content, so that identical re-sends stay duplicates) and give every record an expectation
    fails the expectation as its rule."""
    keys = ", ".join(src.key)
    rows_sql = (f"SELECT _row, {', '.join(src.columns)} FROM _checked WHERE _rule IS NULL AND _row IN "
                f"(SELECT min(_row) FROM _checked WHERE _rule IS NULL GROUP BY {keys}, _record_hash)")
    validation = expectations.validate_batch(con, src.name, "_checked", rows_sql)
    if validation.failures:
        failed = pa.table({"_row": pa.array(list(validation.failures), pa.int64()),
                           "rule": pa.array(list(validation.failures.values()), pa.string())})
        con.register("_gx_failed", failed)
        match = " AND ".join(f"c.{k} = f.{k}" for k in src.key)
        con.execute(f"""
            UPDATE _checked AS c SET _rule = f.rule
            FROM (SELECT {', '.join('x.' + k for k in src.key)}, x._record_hash, g.rule
                  FROM _gx_failed g JOIN _checked x USING (_row)) AS f
            WHERE {match} AND c._record_hash = f._record_hash AND c._rule IS NULL""")
        con.unregister("_gx_failed")
    return validation.outcomes


def _key_match(src: Source, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in src.key)


def _classify_and_append(con, src: Source, rel: str, digest: str, max_bad_share: float,
                         run_id: str | None, now: datetime) -> FileResult:
    keys = ", ".join(src.key)
    con.execute("CREATE OR REPLACE TEMP TABLE _file_checked AS SELECT * FROM _checked WHERE _file_hash = ?", [digest])
    # One outcome per record (line): a record's rule is its first broken rule on any of its rows.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _outcome AS
        WITH ruled AS (
            SELECT *, max(_rule) OVER (PARTITION BY _line) AS _line_rule FROM _file_checked
        ),
        good AS (
            SELECT *,
                min(_record_hash) OVER (PARTITION BY {keys}) <> max(_record_hash) OVER (PARTITION BY {keys}) AS _conflict_in_file,
                _line <> min(_line) OVER (PARTITION BY {keys}, _record_hash) AS _dup_in_file
            FROM ruled WHERE _line_rule IS NULL
        ),
        existing AS (
            SELECT DISTINCT {', '.join('g.' + k for k in src.key)}, r._record_hash AS _old_hash
            FROM good g JOIN raw.{src.name} r ON {_key_match(src, 'g', 'r')}
        )
        SELECT g.*,
            CASE
                WHEN g._conflict_in_file THEN 'conflict: versions of one key differ within the file'
                WHEN e._old_hash IS NOT NULL AND e._old_hash <> g._record_hash
                    THEN 'conflict: differs from a version of this key loaded earlier'
            END AS _conflict,
            coalesce(g._dup_in_file OR e._old_hash = g._record_hash, false) AS _duplicate
        FROM good g LEFT JOIN existing e ON {_key_match(src, 'g', 'e')}
    """)
    rows_read, bad_lines = con.execute(
        "SELECT count(DISTINCT _line), count(DISTINCT _line) FILTER (WHERE _line_rule IS NOT NULL) "
        "FROM (SELECT _line, max(_rule) OVER (PARTITION BY _line) AS _line_rule FROM _file_checked)").fetchone()
    # Per record (line): a conflict if any of its rows conflicts, a duplicate if all of them are.
    conflict_lines, dup_lines = con.execute("""
        SELECT count(*) FILTER (WHERE conflict), count(*) FILTER (WHERE NOT conflict AND duplicate)
        FROM (SELECT _line, bool_or(_conflict IS NOT NULL) AS conflict, bool_and(_duplicate) AS duplicate
              FROM _outcome GROUP BY _line)""").fetchone()
    quarantined = bad_lines + conflict_lines
    if rows_read and quarantined / rows_read > max_bad_share:
        top = con.execute("""
            SELECT rule, count(*) AS n, min(_line) AS first_line FROM (
                SELECT DISTINCT _line, max(_rule) OVER (PARTITION BY _line) AS rule FROM _file_checked
                UNION
                SELECT DISTINCT _line, _conflict FROM _outcome
            ) WHERE rule IS NOT NULL GROUP BY rule ORDER BY n DESC, rule LIMIT 3""").fetchall()
        reasons = "; ".join(f"{r} ({n}, first at line {ln})" for r, n, ln in top)
        fr = FileResult(rel, digest, "refused", rows_read, 0, quarantined, 0,
                        f"{quarantined} of {rows_read} records bad ({quarantined / rows_read:.1%} > "
                        f"{max_bad_share:.0%} allowed): {reasons}")
        _audit(con, src, fr, run_id, now)
        return fr

    # Quarantine: rule breakers and conflicts (the new versions, and the old ones they clash with).
    con.execute("""
        INSERT INTO raw._quarantine
        SELECT DISTINCT ?, ?, ?, _line, rule, _raw, ? FROM (
            SELECT _line, _raw, max(_rule) OVER (PARTITION BY _line) AS rule FROM _file_checked
        ) WHERE rule IS NOT NULL""", [src.name, rel, digest, now])
    con.execute("""
        INSERT INTO raw._quarantine
        SELECT DISTINCT ?, ?, ?, _line, _conflict, _raw, ? FROM _outcome WHERE _conflict IS NOT NULL
    """, [src.name, rel, digest, now])
    clash = (f"SELECT DISTINCT r._file_hash, r._line FROM raw.{src.name} r JOIN _outcome o "
             f"ON {_key_match(src, 'r', 'o')} WHERE o._conflict LIKE 'conflict: differs%'")
    con.execute(f"""
        INSERT INTO raw._quarantine
        SELECT DISTINCT ?, r._file, r._file_hash, r._line,
            'conflict: a later file (' || ? || ') has a different version of this key',
            CAST(to_json(r) AS VARCHAR), ?
        FROM raw.{src.name} r WHERE (r._file_hash, r._line) IN ({clash})
    """, [src.name, rel, now])
    con.execute(f"DELETE FROM raw.{src.name} WHERE (_file_hash, _line) IN ({clash})")

    extra_cols = (["provider"] if src.provider_folders else []) + (["cdr"] if src.name == "cdrs" else [])
    cols = src.columns + extra_cols
    cell_filter = " AND _cell_ok" if src.format == "ecb_csv" else ""
    con.execute(f"""
        INSERT INTO raw.{src.name} BY NAME
        SELECT {', '.join(cols)}, ? AS _file, _line, ? AS _file_hash, _record_hash, _extra, ? AS _loaded_at
        FROM _outcome WHERE _conflict IS NULL AND NOT _duplicate{cell_filter}
    """, [rel, digest, now])
    loaded = rows_read - quarantined - dup_lines
    fr = FileResult(rel, digest, "loaded", rows_read, loaded, quarantined, dup_lines)
    _audit(con, src, fr, run_id, now)
    con.execute("INSERT INTO raw._loaded_files VALUES (?, ?, ?, ?)", [digest, src.name, rel, now])
    con.execute("DROP TABLE IF EXISTS _outcome")
    con.execute("DROP TABLE IF EXISTS _file_checked")
    return fr


def _audit(con, src: Source, fr: FileResult, run_id: str | None, now: datetime) -> None:
    con.execute(
        "INSERT INTO raw._load_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [src.name, fr.file, fr.file_hash, fr.status, fr.rows_read, fr.rows_loaded,
         fr.rows_quarantined, fr.rows_duplicate, fr.message, run_id, now])


def load_all(db_path: Path, landing: Path, **kw) -> dict[str, SourceResult]:
    con = connect(db_path)
    try:
        return {name: load_source(con, name, landing, **kw) for name in SOURCES}
    finally:
        con.close()
