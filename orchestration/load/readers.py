"""Landing files: which files a source has, what the loader will not read (named, with the
reason), and how the lines of a file reach DuckDB.

Discovery (DESIGN.md section 4, "Real exports are messier than any generator"): extensions are
matched without regard to case, `.gz` files are read compressed, and every file or folder under
a source that the loader will not read — a dot-name, an unknown extension, a folder where none is
expected, a symlink leading outside the landing zone (never followed), anything that is not a
regular file — is returned with the reason, so that the run reports it by name.

Reading. A record is a line; its number is its 1-based line number in the (decompressed) file.
- JSON lines are split and parsed by DuckDB (validate.py). A plain file no bigger than
  `TEXT_MAX_BYTES` (and than the line limit) is read whole by DuckDB's `read_text`; any other file
  (compressed, big, or not UTF-8) is read here in chunks of whole lines (`jsonl_chunk_groups`),
  handed to DuckDB as Arrow tables of about 128 MiB, so a big file never sits whole in memory. A line longer than the
  limit (WAREHOUSE_MAX_LINE_BYTES, default 16 MiB) is never held whole: it is replaced by a marker
  line with its length and first bytes, and a line that is not UTF-8 by a marker line with its text
  escaped; SQL turns both into quarantined records naming the problem.
- CSV and the ECB file (small registries) are parsed here with the csv module into Arrow tables
  of text; SQL types and checks them.
A whole-file problem (not UTF-8 CSV, no header, a required column missing, a broken gzip stream)
raises `BatchRefused` with a message that names the problem.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from orchestration.contract import Source

# Marker lines (a NUL byte first: no JSON text or CSV record of the landing contract starts so).
ODD = "\x00\x01warehouse-loader\x01"
ODD_LONG = ODD + "too-long\x01"  # + "<bytes>\x01<first bytes>"
ODD_UTF8 = ODD + "not-utf8\x01"  # + the line with undecodable bytes escaped
LONG_LINE_KEEP = 1024  # bytes of an over-long line kept in the quarantine

TEXT_MAX_BYTES = 64 * 1024 * 1024  # plain files up to this size are read whole by DuckDB
CHUNK_BYTES = 8 * 1024 * 1024  # chunks of whole lines handed to DuckDB otherwise

EXTENSIONS = {"jsonl": (".jsonl", ".ndjson", ".json"), "csv": (".csv",), "ecb_csv": (".csv",)}


class BatchRefused(Exception):
    """The file as a whole is not loadable (format, header, encoding). Nothing of it is loaded."""


@dataclass(frozen=True)
class LandingFile:
    rel: str  # path relative to the landing dir, as named in the landing zone
    path: Path  # what is read (a symlink that stays inside the landing zone, resolved)
    gzip: bool

    @property
    def provider(self) -> str:
        parts = self.rel.split("/")
        return parts[1] if len(parts) >= 3 else ""


def extensions_text(fmt: str) -> str:
    return ", ".join(EXTENSIONS[fmt]) + " (any case, optionally .gz)"


def match_extension(name: str, fmt: str) -> bool | None:
    """None when the name is not a file the format reads; else whether it is gzip-compressed."""
    low = name.lower()
    gz = low.endswith(".gz")
    if gz:
        low = low[:-3]
    return gz if low.endswith(EXTENSIONS[fmt]) else None


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def discover(landing: Path, src: Source) -> tuple[list[LandingFile], list[tuple[str, str]]]:
    """The files of `src` to read, sorted by relative path, and the entries under its folder that
    are not read, as (relative path, reason). Provider sources (cdrs/<provider>/) read one level of
    folders; files put directly in their folder are returned too (the loader refuses them with a
    message rather than passing over them)."""
    landing = Path(landing)
    root = landing.resolve()
    files: list[LandingFile] = []
    ignored: list[tuple[str, str]] = []

    def visit(path: Path, rel: str, depth: int) -> None:
        name = path.name
        if name.startswith("."):
            ignored.append((rel, "a dot-name (hidden file or folder): not read"))
            return
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return  # removed while we looked
        target = path
        if stat.S_ISLNK(st.st_mode):
            resolved = Path(os.path.realpath(path))
            if not _inside(resolved, root):
                ignored.append((rel, f"a symlink leading outside the landing zone (to {resolved}): not followed"))
                return
            try:
                st = os.stat(resolved)
            except OSError:
                ignored.append((rel, "a broken symlink: not read"))
                return
            target = resolved
        if stat.S_ISDIR(st.st_mode):
            if depth == 0 or (src.provider_folders and depth == 1):
                for child in sorted(os.listdir(target)):
                    visit(target / child, f"{rel}/{child}", depth + 1)
            elif src.provider_folders:
                ignored.append(
                    (
                        rel,
                        f"a folder inside a provider folder: {src.name} files belong in "
                        f"{src.name}/<provider>/, sub-folders are not read",
                    )
                )
            else:
                ignored.append(
                    (rel, f"a folder: {src.name} files belong directly in {src.name}/, sub-folders are not read")
                )
            return
        if not stat.S_ISREG(st.st_mode):
            ignored.append((rel, "not a regular file: not read"))
            return
        gz = match_extension(name, src.format)
        if gz is None:
            ignored.append((rel, f"unknown extension: {src.name} reads {extensions_text(src.format)}"))
            return
        files.append(LandingFile(rel, target, gz))

    folder = landing / src.name
    if os.path.lexists(folder):
        visit(folder, src.name, 0)
    files.sort(key=lambda f: f.rel)
    return files, ignored


# ----------------------------------------------------------------------------------------------
# bytes of a file, decompressed


def open_bytes(f: LandingFile):
    """A binary stream of the file's content (decompressed for .gz)."""
    return gzip.open(f.path, "rb") if f.gzip else open(f.path, "rb")


def reads_whole(f: LandingFile, max_line_bytes: int) -> bool:
    """Whether DuckDB's read_text reads this JSON-lines file (plain, small: no line can be over-long)."""
    if f.gzip:
        return False
    size = f.path.stat().st_size
    return size <= TEXT_MAX_BYTES and size <= max_line_bytes


def _gzip_error(e: Exception) -> BatchRefused:
    return BatchRefused(f"not a readable gzip file: {e}")


def raw_lines(f: LandingFile, max_line_bytes: int) -> Iterator[tuple[int, bytes, int]]:
    """(line number, the line's bytes with its newline, length) for every line. An over-long line
    gives (n, its first LONG_LINE_KEEP bytes, -length) and is never held whole in memory."""
    try:
        with open_bytes(f) as fh:
            n = 0
            while True:
                line = fh.readline(max_line_bytes + 1)
                if not line:
                    return
                n += 1
                if len(line) > max_line_bytes:
                    prefix, length = line[:LONG_LINE_KEEP], len(line.rstrip(b"\r\n"))
                    while not line.endswith(b"\n"):  # skip the rest of the line without holding it
                        line = fh.readline(CHUNK_BYTES)
                        if not line:
                            break
                        length += len(line.rstrip(b"\r\n"))
                    yield n, prefix, -length
                    continue
                yield n, line, len(line)
    except (OSError, EOFError, zlib.error) as e:
        raise _gzip_error(e) from None


def line_texts(f: LandingFile, wanted: set[int], max_line_bytes: int) -> Iterator[tuple[int, str]]:
    """(line number, text as written) of the `wanted` lines of a file (read again: the loader keeps
    the text of a record only once it knows the record goes to quarantine)."""
    last = max(wanted)
    for n, raw, length in raw_lines(f, max_line_bytes):
        if n > last:
            return
        if n in wanted:
            if length < 0:
                yield n, raw.decode("utf-8", errors="backslashreplace")
                continue
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            yield n, raw.rstrip(b"\r\n").decode("utf-8", errors="backslashreplace")


def long_marker(prefix: bytes, length: int) -> str:
    return f"{ODD_LONG}{length:,}\x01{prefix.decode('utf-8', errors='backslashreplace')}"


def utf8_marker(raw: bytes) -> str:
    return ODD_UTF8 + raw.decode("utf-8", errors="backslashreplace")


CHUNK_SCHEMA = pa.schema([("file_id", pa.int32()), ("first_line", pa.int64()), ("content", pa.large_string())])


GROUP_BYTES = 128 * 1024 * 1024  # text handed to DuckDB per statement on the chunked path


def jsonl_chunk_groups(
    files: list[tuple[int, LandingFile]], max_line_bytes: int, failed: dict[int, str]
) -> Iterator[pa.Table]:
    """Tables of (file_id, first_line, content) of about GROUP_BYTES: each row is whole lines of
    one file (newlines kept, split by DuckDB), each table scanned by DuckDB in parallel (a stream
    would be read by one thread). Over-long and non-UTF-8 lines are replaced by marker lines. A
    file that cannot be read (a broken gzip stream) is recorded in `failed` (file_id -> message)
    and its chunks stop; the loader then loads the batch without it."""
    batches: list[pa.RecordBatch] = []
    size = 0
    for file_id, f in files:
        try:
            for first, text in _file_chunks(f, max_line_bytes):
                batches.append(
                    pa.record_batch(
                        [
                            pa.array([file_id], pa.int32()),
                            pa.array([first], pa.int64()),
                            pa.array([text], pa.large_string()),
                        ],
                        schema=CHUNK_SCHEMA,
                    )
                )
                size += len(text)
                if size >= GROUP_BYTES:
                    yield pa.Table.from_batches(batches, schema=CHUNK_SCHEMA)
                    batches, size = [], 0
        except BatchRefused as e:
            failed[file_id] = str(e)
    if batches:
        yield pa.Table.from_batches(batches, schema=CHUNK_SCHEMA)


def _file_chunks(f: LandingFile, max_line_bytes: int) -> Iterator[tuple[int, str]]:
    """(first line number, text of whole lines) chunks of about CHUNK_BYTES."""
    try:
        fh = open_bytes(f)
    except OSError as e:
        raise _gzip_error(e) from None
    with fh:
        first = 1  # line number of the first line in `pending`
        pending = b""
        eof = False
        while not eof:
            try:
                data = fh.read(CHUNK_BYTES)
            except (OSError, EOFError, zlib.error) as e:
                raise _gzip_error(e) from None
            eof = not data
            pending += data
            cut = len(pending) if eof else pending.rfind(b"\n") + 1
            if cut <= 0:
                if len(pending) > max_line_bytes:  # a line longer than the limit, not complete yet
                    length = len(pending)
                    prefix = pending[:LONG_LINE_KEEP]
                    pending = b""
                    rest = b""
                    while True:
                        try:
                            data = fh.read(CHUNK_BYTES)
                        except (OSError, EOFError, zlib.error) as e:
                            raise _gzip_error(e) from None
                        if not data:
                            eof = True
                            break
                        nl = data.find(b"\n")
                        if nl >= 0:
                            length += nl
                            rest = data[nl:]  # starts with the newline ending the long line
                            break
                        length += len(data)
                    yield first, long_marker(prefix, length)
                    pending = rest[1:] if rest else b""
                    first += 1
                continue
            block, pending = pending[:cut], pending[cut:]
            if not block:
                continue
            text = _block_text(block, max_line_bytes)
            yield first, text
            first += block.count(b"\n")


def _block_text(block: bytes, max_line_bytes: int) -> str:
    """The block as text; lines over the limit or not UTF-8 replaced by marker lines."""
    try:
        text = block.decode("utf-8")
        ok = True
    except UnicodeDecodeError:
        ok = False
    if ok and (len(block) <= max_line_bytes or max(map(len, block.split(b"\n"))) <= max_line_bytes):
        return text
    out = []
    for line in block.split(b"\n"):
        body = line.rstrip(b"\r")
        if len(line) > max_line_bytes:
            out.append(long_marker(line[:LONG_LINE_KEEP], len(line)))
            continue
        try:
            out.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(utf8_marker(body))
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------
# CSV and ECB (small files, parsed here)


def _read_text(f: LandingFile, max_line_bytes: int) -> tuple[str, dict[int, str]]:
    """The file's text (BOM removed, classic-Mac CR endings made LF) and its over-long lines
    (line number -> marker text): those lines are left empty in the text."""
    chunks: list[bytes] = []
    long: dict[int, str] = {}
    for n, raw, length in raw_lines(f, max_line_bytes):
        if length < 0:
            long[n] = long_marker(raw, -length)
            chunks.append(b"\n")
        else:
            chunks.append(raw)
    data = b"".join(chunks)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BatchRefused(f"not UTF-8 text (byte {e.start}: {data[e.start : e.start + 8]!r})") from None
    if "\r" in text and "\n" not in text:
        text = text.replace("\r", "\n")  # classic Mac line endings (CR only)
    return text, long


# A registry field may be long (an address, a JSON blob in an extra column); csv's default limit
# of 128 KiB would otherwise end the whole file with an exception instead of a clear refusal.
csv.field_size_limit(64 * 1024 * 1024)


def _csv_records(text: str) -> Iterator[tuple[int, int, list[str]]]:
    """(first line index (0-based), line index after the record, fields) per CSV record. Quoting
    is parsed strictly: a quote left open swallows the rest of the file into one field, so a
    quoting error refuses the file (naming the line) rather than silently merging records."""
    reader = csv.reader(io.StringIO(text), strict=True)
    start = 0
    try:
        for row in reader:
            yield start, reader.line_num, row
            start = reader.line_num
    except csv.Error as e:
        raise BatchRefused(f"not parseable as CSV: the record starting at line {start + 1}: {e}") from None


def _physical_lines(text: str) -> list[str]:
    """The lines exactly as the csv module counts them (split at \\n only: str.splitlines would
    also split at \\x0b, \\x1c, \\u2028 … inside a field and misplace every later record's text)."""
    return io.StringIO(text).readlines()


def _sniff_delimiter(header_line: str) -> str | None:
    for d in (";", "\t", "|"):
        if d in header_line and "," not in header_line:
            return d
    return None


def read_csv(f: LandingFile, src: Source, max_line_bytes: int) -> pa.Table:
    """Read a contract CSV (comma, header row). Returns (_line, _raw, _ncols_ok, _c_<contract
    column> as text, _extra JSON text); an over-long line is a row whose _raw is its marker."""
    text, long = _read_text(f, max_line_bytes)
    if not text.strip():
        raise BatchRefused("empty file: no header row")
    lines = _physical_lines(text)
    records = _csv_records(text)
    _, _, header = next(records)
    header = [h.strip() for h in header]
    known = set(src.landing_columns)
    missing = [c for c in src.required_columns if c in known and c not in header]
    if missing:
        hint = ""
        delim = _sniff_delimiter(lines[0])
        if delim:
            hint = f"; the header looks {delim!r}-delimited, the contract is comma-delimited"
        raise BatchRefused(
            f"missing required column(s) {', '.join(missing)} "
            f"(header has {len(header)} column(s): {', '.join(header)[:200]}){hint}"
        )
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise BatchRefused(f"duplicate column(s) in header: {', '.join(dupes)}")
    idx = {c: header.index(c) for c in src.landing_columns if c in header}
    extra_idx = [(i, h) for i, h in enumerate(header) if h not in known]

    out_lines: list[int] = []
    raws: list[str] = []
    ncols_ok: list[bool] = []
    cols: dict[str, list[str | None]] = {c: [] for c in src.landing_columns}
    extras: list[str | None] = []

    def add(line: int, raw: str, ok: bool, row: list[str]) -> None:
        out_lines.append(line)
        raws.append(raw)
        ncols_ok.append(ok)
        for c in src.landing_columns:
            i = idx.get(c)
            v = row[i].strip() if (ok and i is not None) else None
            cols[c].append(v if v else None)
        extras.append(json.dumps({h: row[i] for i, h in extra_idx}, ensure_ascii=False) if ok and extra_idx else None)

    for start, end, row in records:  # start: 0-based index of the record's first line
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line (or an over-long line, added below)
        add(start + 1, "".join(lines[start:end]).rstrip("\r\n"), len(row) == len(header), row)
    for n, marker in long.items():
        add(n, marker, False, [])
    table = {
        "_line": pa.array(out_lines, pa.int64()),
        "_raw": pa.array(raws, pa.string()),
        "_ncols_ok": pa.array(ncols_ok, pa.bool_()),
    }
    for c in src.landing_columns:
        table[f"_c_{c}"] = pa.array(cols[c], pa.string())
    table["_extra"] = pa.array(extras, pa.string())
    return pa.table(table)


def read_ecb(f: LandingFile, max_line_bytes: int) -> pa.Table:
    """The ECB wide file (Date, then one column per currency, `N/A` = no rate, a trailing comma).
    A record is a (Date, currency) cell: one row per cell that is not N/A or empty, with
    (_line, _raw = the line, _ncols_ok, _c_rate_date, _c_currency, _c_rate). A line with more
    cells than the header (a decimal comma or a stray delimiter shifted its values: no rate of it
    can be trusted) and an over-long line are one row each, with currency NULL."""
    text, long = _read_text(f, max_line_bytes)
    if not text.strip():
        raise BatchRefused("empty file: no header row")
    lines = _physical_lines(text)
    records = _csv_records(text)
    header = [h.strip() for h in next(records)[2]]
    if not header or header[0] != "Date":
        hint = ""
        if _sniff_delimiter(lines[0]):
            hint = f"; the header looks {_sniff_delimiter(lines[0])!r}-delimited, the ECB file is comma-delimited"
        raise BatchRefused(f"not the ECB eurofxref-hist format: first column is {header[0]!r}, expected 'Date'{hint}")
    currencies = [(i, h) for i, h in enumerate(header) if i > 0 and h]
    dupes = sorted({h for _, h in currencies if sum(1 for _, g in currencies if g == h) > 1})
    if dupes:
        raise BatchRefused(f"duplicate currency column(s) in header: {', '.join(dupes)}")
    width = len(_without_trailing_empty(header))
    out: dict[str, list] = {k: [] for k in ("_line", "_raw", "rate_date", "currency", "rate", "_ncols_ok")}

    def add(n: int, raw: str, date: str | None, cur: str | None, rate: str | None, ok: bool) -> None:
        out["_line"].append(n)
        out["_raw"].append(raw)
        out["rate_date"].append(date)
        out["currency"].append(cur)
        out["rate"].append(rate)
        out["_ncols_ok"].append(ok)

    for start, end, row in records:
        n = start + 1  # the record's first line (1-based)
        if not row or not "".join(row).strip():
            continue
        raw = "".join(lines[start:end]).rstrip("\r\n")
        date = row[0].strip() or None
        if len(_without_trailing_empty(row)) > width:
            add(n, raw, date, None, None, False)
            continue
        for i, cur in currencies:
            v = row[i].strip() if i < len(row) else ""
            if v not in ("", "N/A"):
                add(n, raw, date, cur, v, True)
    for n, marker in long.items():
        add(n, marker, None, None, None, False)
    return pa.table(
        {
            "_line": pa.array(out["_line"], pa.int64()),
            "_raw": pa.array(out["_raw"], pa.string()),
            "_ncols_ok": pa.array(out["_ncols_ok"], pa.bool_()),
            "_c_rate_date": pa.array(out["rate_date"], pa.string()),
            "_c_currency": pa.array(out["currency"], pa.string()),
            "_c_rate": pa.array(out["rate"], pa.string()),
            "_extra": pa.nulls(len(out["_line"]), pa.string()),
        }
    )


def _without_trailing_empty(cells: list[str]) -> list[str]:
    """The ECB file ends every line with a comma: trailing empty cells are not columns."""
    end = len(cells)
    while end and not cells[end - 1].strip():
        end -= 1
    return cells[:end]
