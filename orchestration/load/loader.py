"""Load new landing files of one source into its raw table, exactly once per file content.

Per batch of new files (one transaction): one SQL pass reads every line, parses each record once,
types it and applies every row rule — the contract's and the source's Great Expectations suite,
compiled to SQL — and classifies it against the raw table (validate.py); then set-based: the
quarantine, the earlier versions a conflict displaces, the raw append and the audit, one
statement each. Great Expectations itself re-validates a bounded sample of every batch (all
flagged records up to a cap, and a deterministic sample of the rest): if it disagrees with the
SQL on any record, the source's blocking check `gx_sample_agrees` fails.

The counts reconcile per file: rows read = loaded + quarantined + duplicates + refused. A file
that is refused (format, header, encoding, a broken gzip stream, or more than `max_bad_share` bad
records) loads nothing: it gets an audit row with the reason, and the run's gate fails until it
is dealt with.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration import config
from orchestration.check import expectations as gx_check
from orchestration.contract import SOURCES, Source
from orchestration.load import readers
from orchestration.load.schema import ensure_raw_schema
from orchestration.load.validate import (
    PassSettings,
    RawState,
    candidates_sql,
    classify_sql,
    key_hash_sql,
    output_columns,
    pass_sql,
    self_reference_sql,
)

log = logging.getLogger("orchestration.load")

# Files per batch: about this many bytes of (uncompressed) text; a compressed file counts 8x.
BATCH_BYTES = 3 * 1024**3
GZIP_RATIO = 8
GLOB_CHARS = set("*?[]{}")


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
    rules: list[tuple[str, int, int]] = field(default_factory=list)  # (rule, records, first line)


@dataclass
class SourceResult:
    source: str
    files: list[FileResult] = field(default_factory=list)
    expectations: list = field(default_factory=list)  # ExpectationOutcome per expectation
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (path, why the loader does not read it)
    gx_samples: list = field(default_factory=list)  # expectations.SampleCheck per batch
    seconds: float = 0.0

    def _sum(self, attr: str) -> int:
        return sum(getattr(f, attr) for f in self.files)

    @property
    def refused(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "refused"]

    @property
    def gx_disagreements(self) -> list[str]:
        return [d for s in self.gx_samples for d in s.disagreements]

    def summary(self) -> dict:
        return {
            "files_found": len(self.files),
            "files_loaded": sum(f.status == "loaded" for f in self.files),
            "files_skipped": sum(f.status == "skipped" for f in self.files),
            "files_refused": len(self.refused),
            "files_ignored": len(self.ignored),
            "rows_read": self._sum("rows_read"),
            "rows_loaded": self._sum("rows_loaded"),
            "rows_quarantined": self._sum("rows_quarantined"),
            "rows_duplicate": self._sum("rows_duplicate"),
            "rows_refused": self._sum("rows_refused"),
            "gx_sample_rows": sum(s.rows for s in self.gx_samples),
            "seconds": round(self.seconds, 2),
        }

    def summary_line(self) -> str:
        """One line per source: files and records (reconciled), time and rate."""
        from orchestration.report import counts_text, rate_text

        return f"{self.source:<14} {counts_text(self.summary())}  in {rate_text(self.summary()['rows_read'], self.seconds)}"

    def file_lines(self) -> list[str]:
        """A line per file that was refused or had records quarantined (the first rules), and
        per file or folder the loader does not read."""
        lines = []
        for f in self.files:
            if f.status == "refused":
                lines.append(f"  {f.file}: refused — {f.message}")
            elif f.rows_quarantined:
                rules = "; ".join(f"{r} ({n:,}, first at line {ln})" for r, n, ln in f.rules)
                lines.append(
                    f"  {f.file}: {f.rows_read:,} read = {f.rows_loaded:,} loaded + "
                    f"{f.rows_quarantined:,} quarantined + {f.rows_duplicate:,} duplicates — {rules}"
                )
        lines += [f"  {path}: not read — {why}" for path, why in self.ignored]
        return lines


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
            rows = con.execute(
                """
                SELECT file, size_bytes, mtime_ns, ctime_ns, inode, file_hash, hashed_at_ns
                FROM raw._file_digests WHERE file IN (SELECT unnest(?::VARCHAR[]))
                QUALIFY row_number() OVER (PARTITION BY file ORDER BY hashed_at_ns DESC) = 1""",
                [files],
            ).fetchall()
            self.known = {r[0]: r[1:] for r in rows}

    def digest(self, rel: str, path: Path) -> str:
        return self.digest_many([(rel, path)])[0]

    def digest_many(self, files: list[tuple[str, Path]]) -> list[str]:
        """The digests of (relative path, path) pairs; the files to hash are hashed on two
        threads (hashlib releases the GIL: a year of 10M-session files is 11 GB)."""
        out: list[str | None] = []
        todo: list[tuple[int, str, Path, tuple]] = []
        for rel, path in files:
            st = path.stat()
            ident = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
            known = self.known.get(rel)
            if known is not None and known[:4] == ident and max(st.st_mtime_ns, st.st_ctime_ns) < known[5] - RACY_NS:
                out.append(known[4])
            else:
                todo.append((len(out), rel, path, ident))
                out.append(None)
        if todo:
            hashed_at = time.time_ns()
            with ThreadPoolExecutor(max_workers=2) as pool:
                digests = list(pool.map(lambda t: file_sha256(t[2]), todo))
            for (i, rel, _, ident), digest in zip(todo, digests):
                out[i] = digest
                self.new.append((rel, *ident, digest, hashed_at))
        return out  # type: ignore[return-value]

    def save(self) -> None:
        if self.new:
            columns = list(zip(*self.new))
            self.con.execute(
                "INSERT INTO raw._file_digests SELECT unnest(?::VARCHAR[]), unnest(?::BIGINT[]), unnest(?::BIGINT[]), "
                "unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::VARCHAR[]), unnest(?::BIGINT[])",
                [list(c) for c in columns],
            )
            self.new = []


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def connect(db_path: Path) -> duckdb.DuckDBPyConnection:
    """The build database, with the same memory ceiling and spill directory as dbt's profile
    (WAREHOUSE_MEMORY_LIMIT, default 4GB): a big batch spills to disk instead of growing the
    loader's memory."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path))
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET memory_limit = ?", [config.memory_limit()])
    con.execute("SET temp_directory = ?", [str(db_path.parent / "duckdb_tmp")])
    # raw tables have no meaningful row order (as dbt's profile): lets DuckDB write in parallel
    con.execute("SET preserve_insertion_order = false")
    return con


@dataclass
class _Pending:
    file: readers.LandingFile
    digest: str
    file_id: int = 0


def load_source(
    con: duckdb.DuckDBPyConnection,
    source: str,
    landing: Path,
    *,
    max_bad_share: float = 0.05,
    run_id: str | None = None,
    expectations: bool = True,
    include=None,
    settings: PassSettings | None = None,
    gx_sample_rows: int | None = None,
) -> SourceResult:
    """Load every new file of `source`. `include(relative_path)` limits the run to some files (a
    partition's files). Logs one line per source (counts, time, rate), and a line per file only
    for files refused or with quarantined records, and per entry not read."""
    t0 = time.perf_counter()
    src = SOURCES[source]
    ensure_raw_schema(con)
    landing = Path(landing)
    settings = settings or PassSettings(_now(), config.max_line_bytes(), config.max_session_days())
    now = settings.now
    result = SourceResult(source)
    found, result.ignored = readers.discover(landing, src)
    found = [f for f in found if include is None or include(f.rel)]
    digests = FileDigests(con, [f.rel for f in found])
    hashed = list(zip(found, digests.digest_many([(f.rel, f.path) for f in found])))
    digests.save()
    # Two statements for the whole source, not two per file (thousands of files per source).
    con.execute(
        "INSERT INTO raw._files_seen SELECT ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::BIGINT[]), ? "
        "ON CONFLICT DO NOTHING",
        [source, [f.rel for f, _ in hashed], [d for _, d in hashed], [f.path.stat().st_size for f, _ in hashed], now],
    )
    loaded = {
        h
        for (h,) in con.execute(
            "SELECT file_hash FROM raw._loaded_files WHERE file_hash IN (SELECT unnest(?::VARCHAR[]))",
            [[d for _, d in hashed]],
        ).fetchall()
    }
    pending: list[_Pending] = []
    refused_early: list[FileResult] = []
    seen: set[str] = set()
    for f, digest in hashed:
        if digest in loaded or digest in seen:
            result.files.append(FileResult(f.rel, digest, "skipped"))
            continue
        seen.add(digest)
        if src.provider_folders and not f.provider:
            refused_early.append(
                FileResult(
                    f.rel,
                    digest,
                    "refused",
                    message=f"not in a provider folder: {src.name} files belong in {src.name}/<provider>/ "
                    f"(the roaming connection they came through, e.g. {src.name}/hubject/)",
                )
            )
            continue
        pending.append(_Pending(f, digest))
    if refused_early:
        _audit(con, src, refused_early, run_id, now)
        result.files.extend(refused_early)
    gx_rows = config.gx_sample_rows() if gx_sample_rows is None else gx_sample_rows
    # Great Expectations runs on a thread beside the SQL (its set-up, then each batch's sample)
    with ThreadPoolExecutor(max_workers=1) as gx_thread:
        if pending and expectations and gx_rows > 0:
            gx_thread.submit(gx_check.prepare, src.name)
        for batch in _batches(pending):
            _load_batch(
                con,
                src,
                batch,
                result,
                max_bad_share=max_bad_share,
                run_id=run_id,
                settings=settings,
                expectations=expectations,
                gx_rows=gx_rows,
                gx_thread=gx_thread,
            )
    result.seconds = time.perf_counter() - t0
    _log(result)
    return result


def _log(result: SourceResult) -> None:
    log.info("%s", result.summary_line())
    for line in result.file_lines():
        log.warning("%s", line)
    for d in result.gx_disagreements:
        log.error("%s: Great Expectations and the SQL rules disagree: %s", result.source, d)


def _batches(pending: list[_Pending]) -> list[list[_Pending]]:
    batches: list[list[_Pending]] = []
    size = 0
    for p in pending:
        n = p.file.path.stat().st_size * (GZIP_RATIO if p.file.gzip else 1)
        if not batches or size + n > BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(p)
        size += n
    return batches


def _raw_state(con, src: Source) -> RawState:
    has_rows = con.execute(f"SELECT EXISTS (SELECT 1 FROM raw.{src.name})").fetchall()[0][0]
    has_conflicts = con.execute("SELECT EXISTS (SELECT 1 FROM raw._conflicts WHERE source = ?)", [src.name]).fetchall()[
        0
    ][0]
    return RawState(bool(has_rows), bool(has_conflicts))


def _register_files(con, batch: list[_Pending]) -> None:
    con.register(
        "_batch_files",
        pa.table(
            {
                "file_id": pa.array([p.file_id for p in batch], pa.int32()),
                "file": pa.array([p.file.rel for p in batch], pa.string()),
                "file_hash": pa.array([p.digest for p in batch], pa.string()),
                "provider": pa.array([p.file.provider for p in batch], pa.string()),
                "path": pa.array([str(p.file.path.resolve()) for p in batch], pa.string()),
            }
        ),
    )


def _run_pass(
    con,
    src: Source,
    batch: list[_Pending],
    settings: PassSettings,
    expectations: bool,
    read_here: frozenset[str] = frozenset(),
) -> dict[int, str]:
    """CREATE the temp table _checked for `batch`; returns the files that could not be read
    (file_id -> message). The pass is streaming (no record depends on another), so it runs as
    one statement over the plain files DuckDB reads whole and one per group of chunks read here;
    `read_here`: plain files to read here (not UTF-8: their bad lines are quarantined one by one)."""
    failed: dict[int, str] = {}
    _register_files(con, batch)
    con.execute("DROP TABLE IF EXISTS _checked")
    created = False

    def run(input_sql: str, params: list) -> None:
        nonlocal created
        sql = pass_sql(src, input_sql, settings, expectations)
        con.execute(("INSERT INTO _checked " if created else "CREATE TEMP TABLE _checked AS ") + sql, params)
        created = True

    if src.format == "jsonl":

        def whole(p: _Pending) -> bool:
            path = str(p.file.path.resolve())
            return (
                readers.reads_whole(p.file, settings.max_line_bytes)
                and path not in read_here
                and not GLOB_CHARS & set(path)
            )  # read_text takes a path as a glob pattern

        paths = [str(p.file.path.resolve()) for p in batch if whole(p)]
        if paths:
            # read_text reads its files on one thread, and everything after it in the pass runs on
            # that thread: one read_text per DuckDB thread, their union scanned in parallel
            parts = _split_by_size(paths, int(con.execute("SELECT current_setting('threads')").fetchall()[0][0]))
            read = " UNION ALL ".join("SELECT filename, content FROM read_text(?)" for _ in parts)
            try:
                run(
                    f"SELECT b.file_id, CAST(1 AS BIGINT) AS first_line, r.content FROM ({read}) r "
                    "JOIN _batch_files b ON b.path = r.filename",
                    parts,
                )
            except duckdb.InvalidInputException as e:
                if "UTF-8" not in str(e) and "UTF8" not in str(e):
                    raise
                # read_text met a plain file that is not UTF-8: find it, and read it here instead
                bad = frozenset(
                    r[0]
                    for r in con.execute(
                        "SELECT filename FROM read_blob(?) WHERE TRY(decode(content)) IS NULL", [paths]
                    ).fetchall()
                )
                if not bad or bad <= read_here:
                    raise
                return _run_pass(con, src, batch, settings, expectations, read_here | bad)
        chunked = [(p.file_id, p.file) for p in batch if not whole(p)]
        for table in _prefetched(readers.jsonl_chunk_groups(chunked, settings.max_line_bytes, failed)):
            con.register("_chunk_group", table)
            try:
                run("SELECT file_id, first_line, content FROM _chunk_group", [])
            finally:
                con.unregister("_chunk_group")
    else:
        tables = []
        for p in batch:
            try:
                t = (
                    readers.read_csv(p.file, src, settings.max_line_bytes)
                    if src.format == "csv"
                    else readers.read_ecb(p.file, settings.max_line_bytes)
                )
            except readers.BatchRefused as e:
                failed[p.file_id] = str(e)
                continue
            tables.append(t.add_column(0, "file_id", pa.array([p.file_id] * t.num_rows, pa.int32())))
        if tables:
            con.register("_csv_rows", pa.concat_tables(tables))
            try:
                run("SELECT * FROM _csv_rows", [])
            finally:
                con.unregister("_csv_rows")
    return failed


def _split_by_size(paths: list[str], n: int) -> list[list[str]]:
    """`paths` in at most `n` non-empty lists of about equal total size (largest files first)."""
    parts: list[list[str]] = [[] for _ in range(max(1, min(n, len(paths))))]
    sizes = [0] * len(parts)
    for path in sorted(paths, key=lambda p: -Path(p).stat().st_size):
        i = sizes.index(min(sizes))
        parts[i].append(path)
        sizes[i] += Path(path).stat().st_size
    return parts


def _prefetched(items):
    """The items of an iterator, the next one produced on a thread while the caller works on the
    current one (reading and decompressing overlap DuckDB's work: both release the GIL)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        it = iter(items)
        nxt = pool.submit(next, it, None)
        while True:
            item = nxt.result()
            if item is None:
                return
            nxt = pool.submit(next, it, None)
            yield item


def _classify(
    con, src: Source, batch: list[_Pending], settings: PassSettings, state: RawState, expectations: bool
) -> None:
    """Finish _checked: a registry's references to its own ids in the batch, then the few records
    whose key repeats in the batch or was loaded before (duplicates, conflicts, GX's key
    uniqueness), with the text of the records that became quarantined."""
    for sql in self_reference_sql(src, expectations):
        con.execute(sql)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cand AS {candidates_sql(src, state)}")
    if con.execute("SELECT count(*) FROM _cand").fetchall()[0][0]:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _upd AS {classify_sql(src, state, expectations)}")
        con.execute(
            "UPDATE _checked SET _gx = u.gx, _rule = u.rule, _dup = u.dup, _rep = u.rep, _clash = u.clash "
            "FROM _upd u WHERE _checked.rowid = u.rid"
        )
        con.execute("DROP TABLE _upd")
        missing = con.execute("SELECT file_id, _line FROM _checked WHERE _rule IS NOT NULL AND _raw IS NULL").fetchall()
        if missing:
            wanted: dict[int, set[int]] = {}
            for fid, line in missing:
                wanted.setdefault(fid, set()).add(line)
            by_id = {p.file_id: p.file for p in batch}
            texts = [
                (fid, n, text)
                for fid, lines in wanted.items()
                for n, text in readers.line_texts(by_id[fid], lines, settings.max_line_bytes)
            ]
            con.register(
                "_texts",
                pa.table(
                    {
                        "file_id": pa.array([t[0] for t in texts], pa.int32()),
                        "_line": pa.array([t[1] for t in texts], pa.int64()),
                        "text": pa.array([t[2] for t in texts], pa.string()),
                    }
                ),
            )
            con.execute(
                "UPDATE _checked SET _raw = t.text FROM _texts t WHERE _checked.file_id = t.file_id "
                "AND _checked._line = t._line AND _checked._rule IS NOT NULL AND _checked._raw IS NULL"
            )
            con.unregister("_texts")
    con.execute("DROP TABLE _cand")


def _file_counts(con) -> dict[int, tuple[int, int, int]]:
    """file_id -> (records read, quarantined, duplicates)."""
    rows = con.execute(
        "SELECT file_id, count(*), count(_rule), count(*) FILTER (WHERE _dup) FROM _checked GROUP BY file_id"
    ).fetchall()
    return {fid: (n, q, d) for fid, n, q, d in rows}


def _top_rules(con, file_ids: list[int]) -> dict[int, list[tuple[str, int, int]]]:
    if not file_ids:
        return {}
    rows = con.execute(
        """
        SELECT file_id, _rule, count(*) AS n, min(_line) FROM _checked
        WHERE _rule IS NOT NULL AND file_id IN (SELECT unnest(?::INTEGER[]))
        GROUP BY file_id, _rule QUALIFY row_number() OVER (PARTITION BY file_id ORDER BY n DESC, _rule) <= 3
        ORDER BY file_id, n DESC, _rule""",
        [file_ids],
    ).fetchall()
    out: dict[int, list] = {}
    for fid, rule, n, first in rows:
        out.setdefault(fid, []).append((rule, n, first))
    return out


def _has_checked(con) -> bool:
    return bool(
        con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '_checked' AND temporary").fetchall()[0][0]
    )


def _load_batch(
    con,
    src: Source,
    batch: list[_Pending],
    result: SourceResult,
    *,
    max_bad_share: float,
    run_id: str | None,
    settings: PassSettings,
    expectations: bool,
    gx_rows: int,
    gx_thread: ThreadPoolExecutor,
) -> None:
    now = settings.now
    for i, p in enumerate(batch):
        p.file_id = i
    state = _raw_state(con, src)
    refused: list[FileResult] = []
    while True:
        failed = _run_pass(con, src, batch, settings, expectations)
        readable = [p for p in batch if p.file_id not in failed]
        if readable and _has_checked(con):
            _classify(con, src, readable, settings, state, expectations)
        counts = _file_counts(con) if readable and _has_checked(con) else {}
        over = [
            p
            for p in batch
            if p.file_id not in failed
            and counts.get(p.file_id, (0, 0, 0))[0]
            and counts[p.file_id][1] / counts[p.file_id][0] > max_bad_share
        ]
        tops = _top_rules(con, [p.file_id for p in over])
        for p in batch:
            if p.file_id in failed:
                refused.append(FileResult(p.file.rel, p.digest, "refused", message=failed[p.file_id]))
        for p in over:
            read, bad, _ = counts[p.file_id]
            reasons = "; ".join(f"{r} ({n}, first at line {ln})" for r, n, ln in tops.get(p.file_id, []))
            refused.append(
                FileResult(
                    p.file.rel,
                    p.digest,
                    "refused",
                    read,
                    0,
                    0,
                    0,
                    f"{bad} of {read} records bad ({bad / read:.1%} > {max_bad_share:.0%} allowed): {reasons}",
                    rows_refused=read,
                )
            )
        drop = set(failed) | {p.file_id for p in over}
        if not drop:
            break
        # Load the batch again without the refused files (their records must not make the others'
        # duplicates or conflicts).
        batch = [p for p in batch if p.file_id not in drop]
        if not batch:
            break

    results: list[FileResult] = []
    if batch and _has_checked(con):
        counts = _file_counts(con)
        with_rules = [p.file_id for p in batch if counts.get(p.file_id, (0, 0, 0))[1]]
        tops = _top_rules(con, with_rules)
        for p in batch:
            read, bad, dup = counts.get(p.file_id, (0, 0, 0))
            results.append(
                FileResult(
                    p.file.rel, p.digest, "loaded", read, read - bad - dup, bad, dup, rules=tops.get(p.file_id, [])
                )
            )
        sample_check = None
        if expectations:
            outcomes = gx_check.outcomes_from_sql(con, src.name, "_checked")
            if result.expectations:  # a source loaded in several batches: counts add up
                for total, o in zip(result.expectations, outcomes):
                    total.unexpected += o.unexpected
            else:
                result.expectations = outcomes
            if gx_rows > 0:  # GX validates the sample while the batch is appended
                sample_check = gx_thread.submit(
                    gx_check.validate_sample, gx_check.sample_frame(con, src.name, "_checked", gx_rows)
                )
        _register_files(con, batch)
        con.execute("BEGIN TRANSACTION")
        try:
            _append(con, src, state, now)
            _audit(con, src, results + refused, run_id, now)
            con.execute("INSERT INTO raw._loaded_files SELECT file_hash, ?, file, ? FROM _batch_files", [src.name, now])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        if sample_check is not None:
            sample = sample_check.result()
            result.gx_samples.append(sample)
            if sample.result is not None:
                con.execute(
                    "INSERT INTO raw._gx_validations VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        src.name,
                        run_id,
                        now,
                        sample.rows,
                        sample.flagged,
                        json.dumps(sample.disagreements),
                        json.dumps(sample.result, default=str),
                    ],
                )
    elif refused:
        _audit(con, src, refused, run_id, now)
    con.execute("DROP TABLE IF EXISTS _checked")
    result.files.extend(results + refused)


def _append(con, src: Source, state: RawState, now: datetime) -> None:
    """Quarantine, displaced earlier versions, conflicts, raw: set-based, from _checked."""
    # an ECB record is one rate of its line: the rule names the currency (the text is the line)
    rule = "c._rule || coalesce(' [' || c.currency || ']', '')" if src.format == "ecb_csv" else "c._rule"
    con.execute(
        f"""
        INSERT INTO raw._quarantine
        SELECT ?, b.file, b.file_hash, c._line, {rule}, c._raw, ?
        FROM _checked c JOIN _batch_files b USING (file_id) WHERE c._rule IS NOT NULL""",
        [src.name, now],
    )
    keys = ", ".join(src.key)
    if state.has_rows:
        # A record that differs from the version of its key loaded earlier: that earlier version
        # leaves raw for the quarantine too, its rule naming the later file.
        clash = (
            f"SELECT {keys}, first(b.file) AS later_file FROM _checked c JOIN _batch_files b USING (file_id) "
            f"WHERE c._rule = 'conflict: differs from a version of this key loaded earlier' GROUP BY ALL"
        )
        con.execute(
            f"""
            INSERT INTO raw._quarantine
            SELECT ?, r._file, r._file_hash, r._line,
                'conflict: a later file (' || c.later_file || ') has a different version of this key',
                CAST(to_json(r) AS VARCHAR), ?
            FROM raw.{src.name} r JOIN ({clash}) c USING ({keys})""",
            [src.name, now],
        )
        con.execute(f"DELETE FROM raw.{src.name} WHERE ({keys}) IN (SELECT ({keys}) FROM ({clash}))")
    # Remember every key that had conflicting versions (within the batch, or against raw), so that
    # a third version arriving later is a conflict too, whatever the order of the files.
    con.execute(
        f"""
        INSERT INTO raw._conflicts
        SELECT DISTINCT ?, {key_hash_sql(src, "c")}, b.file_hash, c._line, ?
        FROM _checked c JOIN _batch_files b USING (file_id)
        WHERE c._clash OR starts_with(c._rule, 'conflict:')""",
        [src.name, now],
    )
    cols = output_columns(src)
    con.execute(
        f"""
        INSERT INTO raw.{src.name} BY NAME
        SELECT {", ".join("c." + c for c in cols)}, b.file AS _file, c._line, b.file_hash AS _file_hash,
               c._record_hash, c._extra, ? AS _loaded_at
        FROM _checked c JOIN _batch_files b USING (file_id)
        WHERE c._rule IS NULL AND NOT c._dup""",
        [now],
    )


def _audit(con, src: Source, files: list[FileResult], run_id: str | None, now: datetime) -> None:
    if not files:
        return
    con.register(
        "_audit_rows",
        pa.table(
            {
                "file": [f.file for f in files],
                "file_hash": [f.file_hash for f in files],
                "status": [f.status for f in files],
                **{
                    k: pa.array([getattr(f, k) for f in files], pa.int64())
                    for k in ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate", "rows_refused")
                },
                "message": pa.array([f.message for f in files], pa.string()),
            }
        ),
    )
    try:
        con.execute(
            "INSERT INTO raw._load_audit (source, file, file_hash, status, rows_read, rows_loaded, rows_quarantined, "
            "rows_duplicate, rows_refused, message, run_id, loaded_at) "
            "SELECT ?, file, file_hash, status, rows_read, rows_loaded, rows_quarantined, rows_duplicate, "
            "rows_refused, message, ?, ? FROM _audit_rows",
            [src.name, run_id, now],
        )
    finally:
        con.unregister("_audit_rows")


def load_all(db_path: Path, landing: Path, **kw) -> dict[str, SourceResult]:
    con = connect(db_path)
    try:
        return {name: load_source(con, name, landing, **kw) for name in SOURCES}
    finally:
        con.close()
