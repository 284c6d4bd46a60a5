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

from orchestration import config
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
    # A refused file loads nothing and quarantines nothing: all its records are refused (the
    # message says how many were bad). read = loaded + quarantined + duplicate + refused.
    rows_refused: int = 0


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
            "rows_refused": self._sum("rows_refused"),
        }


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# A remembered digest is trusted only for a file whose last change (mtime and ctime) is this much
# older than the moment it was hashed: a file rewritten within the timestamp resolution of its
# file system right after being hashed is hashed again (git's "racy clean" rule).
RACY_NS = 2_000_000_000


class FileDigests:
    """SHA-256 of landing files, remembered in raw._file_digests by path and identity on disk
    (size, mtime, ctime, inode). A file whose identity is unchanged since it was hashed is not
    read again; any change (a rewrite, a copy over it, a touch) means it is hashed again. ctime
    cannot be set by a user, so a rewrite that restores the old mtime is still seen."""

    def __init__(self, con: duckdb.DuckDBPyConnection, files: list[str]):
        self.con = con
        self.known: dict[str, tuple] = {}
        self.new: list[tuple] = []
        if files:
            rows = con.execute("""
                SELECT file, size_bytes, mtime_ns, ctime_ns, inode, file_hash, hashed_at_ns
                FROM raw._file_digests WHERE file IN (SELECT unnest(?::VARCHAR[]))
                QUALIFY row_number() OVER (PARTITION BY file ORDER BY hashed_at_ns DESC) = 1""",
                               [files]).fetchall()
            self.known = {r[0]: r[1:] for r in rows}

    def digest(self, rel: str, path: Path) -> str:
        st = path.stat()
        ident = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        known = self.known.get(rel)
        if known is not None and known[:4] == ident and max(st.st_mtime_ns, st.st_ctime_ns) < known[5] - RACY_NS:
            return known[4]
        hashed_at = time.time_ns()
        digest = file_sha256(path)
        self.new.append((rel, *ident, digest, hashed_at))
        return digest

    def save(self) -> None:
        if self.new:
            columns = list(zip(*self.new))
            self.con.execute(
                "INSERT INTO raw._file_digests SELECT unnest(?::VARCHAR[]), unnest(?::BIGINT[]), unnest(?::BIGINT[]), "
                "unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::VARCHAR[]), unnest(?::BIGINT[])",
                [list(c) for c in columns])
            self.new = []


def discover(landing: Path, src: Source) -> list[Path]:
    """The source's files: <source>/*.<ext>, for provider sources <source>/<provider>/*.<ext> —
    and also <source>/*.<ext> there, so that a file put beside the provider folders is refused
    with a message instead of being silently never read."""
    folder = landing / src.name
    if not folder.is_dir():
        return []
    roots = [folder, *sorted(folder.glob("*/"))] if src.provider_folders else [folder]
    found: set[Path] = set()
    for d in roots:
        if not d.is_dir() or d.name.startswith("."):
            continue
        for pat in FILE_PATTERNS[src.format]:
            found.update(p for p in d.glob(pat) if p.is_file() and not p.name.startswith("."))
    return sorted(found)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def connect(db_path: Path) -> duckdb.DuckDBPyConnection:
    """The build database, with the same memory ceiling and spill directory as dbt's profile
    (WAREHOUSE_MEMORY_LIMIT, default 4GB): a big landing file spills to disk instead of growing
    the loader's memory with the file."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path))
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET memory_limit = ?", [config.memory_limit()])
    con.execute("SET temp_directory = ?", [str(db_path.parent / "duckdb_tmp")])
    return con


def load_source(con: duckdb.DuckDBPyConnection, source: str, landing: Path, *,
                max_bad_share: float = 0.05, run_id: str | None = None,
                expectations: bool = True, include=None) -> SourceResult:
    """Load every new file of `source`, in three phases:
    1. read and type-check each new file (a file that is not the stated format is refused here);
    2. validate all new records at once with the source's Great Expectations suite;
    3. classify every record of the batch (loaded / quarantined / duplicate), refuse the files
       with too many bad records, and append the rest — one transaction for the whole batch.
    `include(relative_path)` limits the run to some files (a partition's files)."""
    src = SOURCES[source]
    ensure_raw_schema(con)
    result = SourceResult(source)
    landing = Path(landing)
    con.execute("DROP TABLE IF EXISTS _checked")
    pending: list[tuple[str, str]] = []  # (relative path, sha256) in load order
    now = _now()
    batch = _Batch(con, src)
    paths = [(p.relative_to(landing).as_posix(), p) for p in discover(landing, src)]
    paths = [(rel, p) for rel, p in paths if include is None or include(rel)]
    digests = FileDigests(con, [rel for rel, _ in paths])
    found = [(rel, path, digests.digest(rel, path)) for rel, path in paths]
    digests.save()
    # Two statements for the whole source, not two per file (thousands of files per source).
    con.execute(
        "INSERT INTO raw._files_seen SELECT ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::BIGINT[]), ? "
        "ON CONFLICT DO NOTHING",
        [source, [r for r, _, _ in found], [d for _, _, d in found], [p.stat().st_size for _, p, _ in found], now])
    loaded = {h for (h,) in con.execute(
        "SELECT file_hash FROM raw._loaded_files WHERE file_hash IN (SELECT unnest(?::VARCHAR[]))",
        [[d for _, _, d in found]]).fetchall()}
    for rel, path, digest in found:
        if digest in loaded or any(d == digest for _, d in pending):
            result.files.append(FileResult(rel, digest, "skipped"))
            continue
        try:
            batch.add_file(path, rel, digest)
        except readers.BatchRefused as e:
            fr = FileResult(rel, digest, "refused", message=str(e))
            _audit(con, src, [fr], run_id, now)
            result.files.append(fr)
            log.warning("%s %s: refused — %s", source, rel, e)
            continue
        pending.append((rel, digest))
    batch.flush()
    if pending:
        if expectations:
            result.expectations = _apply_expectations(con, src)
        t0 = time.perf_counter()
        con.execute("BEGIN TRANSACTION")
        try:
            files = _classify_and_append(con, src, pending, max_bad_share, run_id, now)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        result.files.extend(files)
        for fr in files:
            log.info("%s %s: %s read=%d loaded=%d quarantined=%d duplicate=%d%s", source, fr.file,
                     fr.status, fr.rows_read, fr.rows_loaded, fr.rows_quarantined, fr.rows_duplicate,
                     f" — {fr.message}" if fr.message else "")
        log.info("%s: %d files classified and appended in %.1fs", source, len(files), time.perf_counter() - t0)
    con.execute("DROP TABLE IF EXISTS _checked")
    con.execute("DROP TABLE IF EXISTS _outcome")
    return result


def _read(src: Source, path: Path):
    if src.format == "jsonl":
        yield from readers.read_jsonl(path)
    elif src.format == "csv":
        yield readers.read_csv(path, src)
    else:
        yield readers.read_ecb(path)


class _Batch:
    """Collects the records of many files (readers' Arrow tables, with _file and _file_hash) and
    types/checks them in few large SQL passes into the temp table `_checked` (with a batch-wide
    row id _row): one SQL pass per file would cost more than the records when files are small."""

    FLUSH_ROWS = 250_000

    def __init__(self, con, src: Source):
        self.con, self.src = con, src
        self.tables: list[pa.Table] = []
        self.rows = 0
        self.next_row = 0
        self.created = False

    def add_file(self, path: Path, rel: str, digest: str) -> None:
        """Read the file chunk by chunk into the batch (a big file never sits whole in memory).
        On BatchRefused nothing of the file stays in the batch."""
        provider = rel.split("/")[1] if self.src.provider_folders and rel.count("/") >= 2 else ""
        if self.src.provider_folders and not provider:
            raise readers.BatchRefused(
                f"not in a provider folder: {self.src.name} files belong in {self.src.name}/<provider>/ "
                f"(the roaming connection they came through, e.g. {self.src.name}/hubject/)")
        kept = len(self.tables)
        flushed = False
        try:
            for chunk in _read(self.src, path):
                n = chunk.num_rows
                chunk = (chunk.append_column("_file", pa.array([rel] * n, pa.string()))
                              .append_column("_file_hash", pa.array([digest] * n, pa.string()))
                              .append_column("_provider", pa.array([provider] * n, pa.string())))
                self.tables.append(chunk)
                self.rows += n
                if self.rows >= self.FLUSH_ROWS:
                    self.flush()
                    kept, flushed = 0, True
        except readers.BatchRefused:
            dropped = self.tables[kept:]
            del self.tables[kept:]
            self.rows -= sum(t.num_rows for t in dropped)
            if flushed:
                self.con.execute("DELETE FROM _checked WHERE _file_hash = ?", [digest])
            raise

    def flush(self) -> None:
        if not self.tables:
            return
        data = pa.concat_tables(self.tables)
        self.tables, self.rows = [], 0
        self.con.register("_reader_chunk", data)
        # _struct_ok: the record passed the contract's structural rules (before the suite runs)
        sql = (f"SELECT *, ? + row_number() OVER () - 1 AS _row, _rule IS NULL AS _struct_ok "
               f"FROM ({validation_sql(self.src, '_reader_chunk')})")
        if self.created:
            self.con.execute(f"INSERT INTO _checked {sql}", [self.next_row])
        else:
            self.con.execute(f"CREATE TEMP TABLE _checked AS {sql}", [self.next_row])
            self.created = True
        self.con.unregister("_reader_chunk")
        self.next_row += data.num_rows


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


def _key_hash(src: Source, alias: str = "") -> str:
    """MD5 of a record's key (its typed values as text): how raw._conflicts remembers keys."""
    prefix = f"{alias}." if alias else ""
    return "md5(concat_ws(chr(31), " + ", ".join(
        f"coalesce(CAST({prefix}{k} AS VARCHAR), chr(0))" for k in src.key) + "))"


def _outcome(con, src: Source, refused: list[str]) -> None:
    """(Re)build `_outcome`: the structurally and GX-good records of the batch's accepted files,
    each marked as a conflict (versions of one key that differ — within the batch, or from the
    version already loaded) or a duplicate (identical to a record loaded earlier, or to an
    earlier record of the batch in file order)."""
    keys = ", ".join(src.key)
    # Only what classification needs (row id, key, content hash, lineage): the records' text and
    # typed values stay in _checked and are joined back by _row when appended.
    narrow = (f"_row, {keys}, {_key_hash(src)} AS _key_hash, _record_hash, _file, _file_hash, _line"
              + (", _cell_ok" if src.format == "ecb_csv" else ""))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _outcome AS
        WITH bad_lines AS (
            SELECT DISTINCT _file_hash, _line FROM _checked WHERE _rule IS NOT NULL
        ),
        good AS (
            SELECT {narrow} FROM _checked
            ANTI JOIN bad_lines USING (_file_hash, _line)
            WHERE _file_hash NOT IN (SELECT unnest(?::VARCHAR[]))
        ),
        marked AS (
            SELECT *,
                min(_record_hash) OVER (PARTITION BY {keys}) <> max(_record_hash) OVER (PARTITION BY {keys})
                    AS _conflict_in_batch,
                row_number() OVER (PARTITION BY {keys}, _record_hash ORDER BY _row) > 1 AS _dup_in_batch
            FROM good
        ),
        existing AS (
            SELECT DISTINCT {', '.join('m.' + k for k in src.key)}, r._record_hash AS _old_hash
            FROM marked m JOIN raw.{src.name} r ON {_key_match(src, 'm', 'r')}
        ),
        known_conflicts AS (
            SELECT DISTINCT key_hash AS _key_hash FROM raw._conflicts WHERE source = ?
        )
        SELECT m.*,
            CASE
                WHEN m._conflict_in_batch THEN 'conflict: versions of one key differ within the batch'
                WHEN k._key_hash IS NOT NULL
                    THEN 'conflict: this key had conflicting versions before (see raw._conflicts)'
                WHEN e._old_hash IS NOT NULL AND e._old_hash <> m._record_hash
                    THEN 'conflict: differs from a version of this key loaded earlier'
            END AS _conflict,
            coalesce(m._dup_in_batch OR e._old_hash = m._record_hash, false) AS _duplicate
        FROM marked m LEFT JOIN existing e ON {_key_match(src, 'm', 'e')}
        LEFT JOIN known_conflicts k USING (_key_hash)
    """, [refused, src.name])


def _line_counts(con, refused: list[str]) -> dict[str, tuple[int, int, int, int]]:
    """Per file: (records read, rule breakers, conflicts, duplicates) — counted per record (line)."""
    rows = con.execute("""
        WITH lines AS (
            SELECT _file_hash, _line, bool_or(_rule IS NOT NULL) AS bad FROM _checked GROUP BY ALL
        ),
        outcome AS (
            SELECT _file_hash, _line, bool_or(_conflict IS NOT NULL) AS conflict, bool_and(_duplicate) AS duplicate
            FROM _outcome GROUP BY ALL
        )
        SELECT l._file_hash, count(*), count(*) FILTER (WHERE l.bad),
               count(*) FILTER (WHERE o.conflict), count(*) FILTER (WHERE NOT o.conflict AND o.duplicate)
        FROM lines l LEFT JOIN outcome o USING (_file_hash, _line)
        WHERE l._file_hash NOT IN (SELECT unnest(?::VARCHAR[]))
        GROUP BY ALL""", [refused]).fetchall()
    return {h: (n, bad, conflict, dup) for h, n, bad, conflict, dup in rows}


def _classify_and_append(con, src: Source, files: list[tuple[str, str]], max_bad_share: float,
                         run_id: str | None, now: datetime) -> list[FileResult]:
    # Pass 1: which files have too many bad records (rule breakers + conflicts)?
    _outcome(con, src, [])
    counts = _line_counts(con, [])
    refused: dict[str, FileResult] = {}
    for rel, digest in files:
        read, bad, conflict, _ = counts.get(digest, (0, 0, 0, 0))
        if read and (bad + conflict) / read > max_bad_share:
            top = con.execute("""
                SELECT rule, count(*) AS n, min(_line) FROM (
                    SELECT DISTINCT _line, max(_rule) OVER (PARTITION BY _line) AS rule FROM _checked WHERE _file_hash = ?
                    UNION
                    SELECT DISTINCT _line, _conflict FROM _outcome WHERE _file_hash = ?
                ) WHERE rule IS NOT NULL GROUP BY rule ORDER BY n DESC, rule LIMIT 3""", [digest, digest]).fetchall()
            reasons = "; ".join(f"{r} ({n}, first at line {ln})" for r, n, ln in top)
            refused[digest] = FileResult(
                rel, digest, "refused", read, 0, 0, 0,
                f"{bad + conflict} of {read} records bad ({(bad + conflict) / read:.1%} > {max_bad_share:.0%} "
                f"allowed): {reasons}", rows_refused=read)
    # Pass 2: the accepted files alone (a refused file's records must not make others' duplicates).
    if refused:
        _outcome(con, src, list(refused))
        counts = _line_counts(con, list(refused))
    accepted = [(rel, d) for rel, d in files if d not in refused]

    # Quarantine: rule breakers and conflicts (the new versions, and the old ones they clash with).
    con.execute("""
        INSERT INTO raw._quarantine
        WITH bad AS (
            SELECT _file_hash, _line, max(_rule) AS rule FROM _checked
            WHERE _rule IS NOT NULL AND _file_hash NOT IN (SELECT unnest(?::VARCHAR[]))
            GROUP BY ALL
        )
        SELECT DISTINCT ?, c._file, c._file_hash, c._line, b.rule, c._raw, ?
        FROM _checked c JOIN bad b USING (_file_hash, _line)""", [list(refused), src.name, now])
    con.execute("""
        INSERT INTO raw._quarantine
        SELECT DISTINCT ?, o._file, o._file_hash, o._line, o._conflict, c._raw, ?
        FROM _outcome o JOIN _checked c USING (_row) WHERE o._conflict IS NOT NULL
    """, [src.name, now])
    # Remember every key that had conflicting versions — caught by the loader, or within the batch
    # by the suite's key-uniqueness expectation (versions of structurally good records of accepted
    # files) — so that a third version arriving later is a conflict too, whatever the order in
    # which the files came (replays in another order publish the same tables).
    con.execute(f"""
        INSERT INTO raw._conflicts
        WITH versions AS (
            SELECT {_key_hash(src)} AS key_hash, _record_hash, _file_hash, _line FROM _checked
            WHERE _struct_ok AND _file_hash NOT IN (SELECT unnest(?::VARCHAR[]))
        ),
        clashing AS (
            SELECT key_hash FROM versions GROUP BY key_hash HAVING count(DISTINCT _record_hash) > 1
        )
        SELECT DISTINCT ?, key_hash, _file_hash, _line, ? FROM versions JOIN clashing USING (key_hash)
        UNION
        SELECT DISTINCT ?, _key_hash, _file_hash, _line, ? FROM _outcome WHERE _conflict IS NOT NULL
    """, [list(refused), src.name, now, src.name, now])
    clash = (f"SELECT DISTINCT r._file_hash, r._line, first(o._file) AS later_file FROM raw.{src.name} r "
             f"JOIN _outcome o ON {_key_match(src, 'r', 'o')} "
             f"WHERE o._conflict LIKE 'conflict: differs%' GROUP BY ALL")
    con.execute(f"""
        INSERT INTO raw._quarantine
        SELECT DISTINCT ?, r._file, r._file_hash, r._line,
            'conflict: a later file (' || c.later_file || ') has a different version of this key',
            CAST(to_json(r) AS VARCHAR), ?
        FROM raw.{src.name} r JOIN ({clash}) c USING (_file_hash, _line)
    """, [src.name, now])
    con.execute(f"DELETE FROM raw.{src.name} WHERE (_file_hash, _line) IN (SELECT _file_hash, _line FROM ({clash}))")

    extra_cols = (["provider"] if src.provider_folders else []) + (["cdr"] if src.name == "cdrs" else [])
    cols = src.columns + extra_cols
    cell_filter = " AND o._cell_ok" if src.format == "ecb_csv" else ""
    con.execute(f"""
        INSERT INTO raw.{src.name} BY NAME
        SELECT {', '.join('c.' + c for c in cols)}, c._file, c._line, c._file_hash, c._record_hash, c._extra,
               ? AS _loaded_at
        FROM _outcome o JOIN _checked c USING (_row)
        WHERE o._conflict IS NULL AND NOT o._duplicate{cell_filter}
        ORDER BY _row
    """, [now])

    results = []
    for rel, digest in files:
        if digest in refused:
            results.append(refused[digest])
            continue
        read, bad, conflict, dup = counts.get(digest, (0, 0, 0, 0))
        results.append(FileResult(rel, digest, "loaded", read, read - bad - conflict - dup, bad + conflict, dup))
    _audit(con, src, results, run_id, now)
    if accepted:
        con.executemany("INSERT INTO raw._loaded_files VALUES (?, ?, ?, ?)",
                        [[d, src.name, rel, now] for rel, d in accepted])
    return results


def _audit(con, src: Source, files: list[FileResult], run_id: str | None, now: datetime) -> None:
    con.executemany(
        "INSERT INTO raw._load_audit (source, file, file_hash, status, rows_read, rows_loaded, rows_quarantined, "
        "rows_duplicate, rows_refused, message, run_id, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [[src.name, fr.file, fr.file_hash, fr.status, fr.rows_read, fr.rows_loaded, fr.rows_quarantined,
          fr.rows_duplicate, fr.rows_refused, fr.message, run_id, now] for fr in files])


def load_all(db_path: Path, landing: Path, **kw) -> dict[str, SourceResult]:
    con = connect(db_path)
    try:
        return {name: load_source(con, name, landing, **kw) for name in SOURCES}
    finally:
        con.close()
