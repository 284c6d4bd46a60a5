"""Readers turn an export file into rows: (line, {column: raw value}, raw text, problem).

`line` is where a reader points a human: for CSV the physical line the record starts on (the
header is line `skip_rows + 1`), for XLSX the sheet's row number as Excel shows it, for JSON lines
the line number, for a JSON array the record's position (1 = first record). `problem` is set
when the record itself is unreadable (wrong number of CSV fields, invalid JSON); such rows are
rejected with that reason. A file that cannot be read at all raises `ExportError`.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from orchestration.importer.spec import InputOptions


class ExportError(ValueError):
    """The export as a whole cannot be read with this mapping; the message says why."""


@dataclass
class Row:
    line: int
    values: dict[str, Any]
    raw: str
    problem: tuple[str, str] | None = None  # (reason, detail)


@dataclass
class Export:
    columns: list[str] | None  # None for JSON (keys vary per record)
    rows: Iterator[Row]


LINES = re.compile(r"[^\n]*\n|[^\n]+$")


def read_export(path: Path, opts: InputOptions) -> Export:
    if not path.is_file():
        raise ExportError(f"input file {path} not found")
    if opts.format == "csv":
        return _read_csv(path, opts)
    if opts.format == "xlsx":
        return _read_xlsx(path, opts)
    if opts.format == "jsonl":
        return _read_jsonl(path, opts)
    return _read_json(path, opts)


def _decode(path: Path, opts: InputOptions) -> str:
    data = path.read_bytes()
    encoding = "utf-8-sig" if opts.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else opts.encoding
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise ExportError(
            f"{path.name} is not {opts.encoding} text (byte {e.start}: "
            f"{data[e.start : e.start + 8]!r}); set input.encoding in the mapping"
        ) from None


def _unique_header(header: list[str], where: str) -> list[str]:
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    if dupes:
        raise ExportError(f"{where}: duplicate column name(s) {', '.join(dupes)}")
    return header


def _read_csv(path: Path, opts: InputOptions) -> Export:
    text = _decode(path, opts)
    lines = LINES.findall(text)
    body = lines[opts.skip_rows :]
    if not body or not "".join(body).strip():
        raise ExportError(f"{path.name}: no header row after skipping {opts.skip_rows} line(s)")
    reader = csv.reader(iter(body), delimiter=opts.delimiter, quotechar=opts.quotechar)
    header = [h.strip() for h in next(reader)]
    if len(header) == 1 and opts.delimiter not in body[0]:
        for d in (";", ",", "\t", "|"):
            if d != opts.delimiter and d in body[0]:
                raise ExportError(
                    f"{path.name}: the header has a single column {header[0][:80]!r}; it looks "
                    f"{d!r}-delimited, the mapping says {opts.delimiter!r}"
                )
    _unique_header(header, path.name)
    offset = opts.skip_rows

    def rows() -> Iterator[Row]:
        prev = reader.line_num
        for fields in reader:
            start, end = prev, reader.line_num
            prev = reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # a blank line is no record
            raw = "".join(body[start:end]).rstrip("\r\n")
            line = offset + start + 1
            if len(fields) != len(header):
                yield Row(
                    line, {}, raw, ("wrong number of fields", f"{len(fields)} field(s), the header has {len(header)}")
                )
                continue
            values = {h: (f if f.strip() not in opts.null_values else None) for h, f in zip(header, fields)}
            yield Row(line, values, raw)

    return Export(header, rows())


def _raw_json(values: dict) -> str:
    return json.dumps(values, ensure_ascii=False, default=str)


def _read_xlsx(path: Path, opts: InputOptions) -> Export:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # not a zip / not a workbook
        raise ExportError(f"{path.name} is not an XLSX workbook ({type(e).__name__}: {e})") from None
    if opts.sheet is None:
        ws = wb.worksheets[0]
    elif isinstance(opts.sheet, int):
        if not 0 <= opts.sheet < len(wb.worksheets):
            raise ExportError(f"{path.name}: no sheet number {opts.sheet} (sheets, from 0: {', '.join(wb.sheetnames)})")
        ws = wb.worksheets[opts.sheet]
    else:
        if opts.sheet not in wb.sheetnames:
            raise ExportError(f"{path.name}: no sheet {opts.sheet!r} (sheets: {', '.join(wb.sheetnames)})")
        ws = wb[opts.sheet]
    first = opts.skip_rows + 1
    it = ws.iter_rows(min_row=first, values_only=True)
    try:
        header_cells = next(it)
    except StopIteration:
        wb.close()
        raise ExportError(f"{path.name}: sheet {ws.title!r} has no header row at row {first}") from None
    header = [("" if c is None else str(c)).strip() for c in header_cells]
    while header and header[-1] == "":
        header.pop()
    _unique_header(header, f"{path.name} sheet {ws.title!r}")

    def rows() -> Iterator[Row]:
        try:
            for n, cells in enumerate(it, start=first + 1):
                if cells is None or all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                    continue
                values = {}
                for i, h in enumerate(header):
                    if not h:
                        continue
                    c = cells[i] if i < len(cells) else None
                    if isinstance(c, str) and c.strip() in opts.null_values:
                        c = None
                    values[h] = c
                yield Row(n, values, _raw_json(values))
        finally:
            wb.close()

    return Export([h for h in header if h], rows())


def _flatten(obj: dict, prefix: str = "") -> dict:
    """Nested JSON objects become dotted keys (location.id); lists stay values."""
    out: dict[str, Any] = {}
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _json_values(obj: dict, opts: InputOptions) -> dict:
    values = _flatten(obj)
    for k, v in values.items():
        if isinstance(v, str) and v.strip() in opts.null_values:
            values[k] = None
    return values


def _read_jsonl(path: Path, opts: InputOptions) -> Export:
    text = _decode(path, opts)

    def rows() -> Iterator[Row]:
        for n, line in enumerate(text.split("\n"), start=1):
            raw = line.rstrip("\r")
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw, parse_float=Decimal)
            except json.JSONDecodeError as e:
                yield Row(n, {}, raw, ("not valid JSON", str(e)))
                continue
            if not isinstance(obj, dict):
                yield Row(n, {}, raw, ("not a JSON object", f"a JSON {type(obj).__name__}"))
                continue
            yield Row(n, _json_values(obj, opts), raw)

    return Export(None, rows())


def _read_json(path: Path, opts: InputOptions) -> Export:
    text = _decode(path, opts)
    try:
        doc = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as e:
        raise ExportError(f"{path.name} is not valid JSON: {e}") from None
    if opts.records_path:
        for part in str(opts.records_path).split("."):
            if not isinstance(doc, dict) or part not in doc:
                raise ExportError(f"{path.name}: no key {part!r} on the way to records_path {opts.records_path!r}")
            doc = doc[part]
    if not isinstance(doc, list):
        raise ExportError(
            f"{path.name}: the records are not a JSON array"
            f"{'' if opts.records_path else ' (set input.records_path to where the list is)'}"
        )

    def rows() -> Iterator[Row]:
        for n, obj in enumerate(doc, start=1):
            raw = json.dumps(obj, ensure_ascii=False, default=str)
            if not isinstance(obj, dict):
                yield Row(n, {}, raw, ("not a JSON object", f"a JSON {type(obj).__name__}"))
                continue
            yield Row(n, _json_values(obj, opts), raw)

    return Export(None, rows())


__all__ = ["Export", "ExportError", "Row", "read_export"]
