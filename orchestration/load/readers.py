"""Readers turn one landing file into an Arrow table of text records, keeping the exact line
number and raw text of each record. They never decide whether a record is good: that is
SQL's job (validate.py). A whole-file problem (not UTF-8, no header, a required column missing)
raises `BatchRefused` with a message that names the problem."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from orchestration.contract import Source

CHUNK_LINES = 250_000


class BatchRefused(Exception):
    """The file as a whole is not loadable (format, header, encoding). Nothing of it is loaded."""


def _decode_line(raw: bytes, first: bool) -> tuple[str, bool]:
    """Decode one line as UTF-8; returns (text, ok). Undecodable bytes are kept visibly escaped."""
    if first and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="backslashreplace"), False


def read_jsonl(path: Path) -> Iterator[pa.Table]:
    """Yield chunks of (_line, _raw, _utf8_ok) for each non-blank line of a JSON-lines file."""
    lines: list[int] = []
    raws: list[str] = []
    oks: list[bool] = []
    yielded = False
    with open(path, "rb") as f:
        for n, raw in enumerate(f, start=1):
            text, ok = _decode_line(raw.rstrip(b"\r\n"), n == 1)
            if not text.strip():
                continue  # blank lines are not records
            lines.append(n)
            raws.append(text)
            oks.append(ok)
            if len(lines) >= CHUNK_LINES:
                yield _text_table(lines, raws, oks)
                lines, raws, oks, yielded = [], [], [], True
    if lines or not yielded:
        yield _text_table(lines, raws, oks)


def _text_table(lines: list[int], raws: list[str], oks: list[bool]) -> pa.Table:
    return pa.table({
        "_line": pa.array(lines, pa.int64()),
        "_raw": pa.array(raws, pa.string()),
        "_utf8_ok": pa.array(oks, pa.bool_()),
    })


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise BatchRefused(f"not UTF-8 text (byte {e.start}: {data[e.start:e.start + 8]!r})") from None
    if "\r" in text and "\n" not in text:
        text = text.replace("\r", "\n")  # classic Mac line endings (CR only)
    return text


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


def read_csv(path: Path, src: Source) -> pa.Table:
    """Read a contract CSV (comma, header row). Returns (_line, _raw, _utf8_ok, _ncols_ok,
    _c_<contract column> as text, _extra JSON text)."""
    text = _read_text(path)
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
            f"(header has {len(header)} column(s): {', '.join(header)[:200]}){hint}")
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
    for start, end, row in records:  # start: 0-based index of the record's first line
        raw = "".join(lines[start:end]).rstrip("\r\n")
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        out_lines.append(start + 1)
        raws.append(raw)
        ok = len(row) == len(header)
        ncols_ok.append(ok)
        for c in src.landing_columns:
            i = idx.get(c)
            v = row[i].strip() if (ok and i is not None) else None
            cols[c].append(v if v else None)
        if ok and extra_idx:
            extras.append(json.dumps({h: row[i] for i, h in extra_idx}, ensure_ascii=False))
        else:
            extras.append(None)
    table = {
        "_line": pa.array(out_lines, pa.int64()),
        "_raw": pa.array(raws, pa.string()),
        "_utf8_ok": pa.array([True] * len(out_lines), pa.bool_()),
        "_ncols_ok": pa.array(ncols_ok, pa.bool_()),
    }
    for c in src.landing_columns:
        table[f"_c_{c}"] = pa.array(cols[c], pa.string())
    table["_extra"] = pa.array(extras, pa.string())
    return pa.table(table)


def read_ecb(path: Path) -> pa.Table:
    """The ECB wide file (Date, then one column per currency, `N/A` = no rate, a trailing comma).
    Returns one row per (line, currency) cell that is not N/A: (_line, _raw, _utf8_ok, _ncols_ok,
    _c_rate_date, _c_currency, _c_rate, _cell_ok); a line with no rates, or with more cells than
    the header (its rates cannot be trusted), gives one row with currency NULL so that it is
    still counted."""
    text = _read_text(path)
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
    out: dict[str, list] = {k: [] for k in ("_line", "_raw", "rate_date", "currency", "rate", "_cell_ok", "_ncols_ok")}
    for start, end, row in records:
        n = start + 1  # the record's first line (1-based)
        if not row or not "".join(row).strip():
            continue
        raw = "".join(lines[start:end]).rstrip("\r\n")
        # More cells than the header has columns: a decimal comma or a stray delimiter shifted
        # the values — every rate of the line would be wrong, so the line is quarantined.
        ncols_ok = len(_without_trailing_empty(row)) <= width
        cells = []
        for i, cur in currencies if ncols_ok else ():
            v = row[i].strip() if i < len(row) else ""
            if v in ("", "N/A"):
                continue
            cells.append((cur, v))
        if not cells:
            cells = [(None, None)]
        for cur, v in cells:
            out["_line"].append(n)
            out["_raw"].append(raw)
            out["rate_date"].append(row[0].strip() or None)
            out["currency"].append(cur)
            out["rate"].append(v)
            out["_cell_ok"].append(cur is not None)
            out["_ncols_ok"].append(ncols_ok)
    return pa.table({
        "_line": pa.array(out["_line"], pa.int64()),
        "_raw": pa.array(out["_raw"], pa.string()),
        "_utf8_ok": pa.array([True] * len(out["_line"]), pa.bool_()),
        "_ncols_ok": pa.array(out["_ncols_ok"], pa.bool_()),
        "_c_rate_date": pa.array(out["rate_date"], pa.string()),
        "_c_currency": pa.array(out["currency"], pa.string()),
        "_c_rate": pa.array(out["rate"], pa.string()),
        "_cell_ok": pa.array(out["_cell_ok"], pa.bool_()),
    })


def _without_trailing_empty(cells: list[str]) -> list[str]:
    """The ECB file ends every line with a comma: trailing empty cells are not columns."""
    end = len(cells)
    while end and not cells[end - 1].strip():
        end -= 1
    return cells[:end]
