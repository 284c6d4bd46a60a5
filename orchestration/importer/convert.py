"""Typing of raw cell values: numbers with any decimal mark, booleans, and local timestamps
converted to UTC, DST-correct.

Local time → UTC (`localize`) is where daylight-saving time bites. A wall-clock time can be

- normal: one instant;
- ambiguous (the repeated hour when clocks go back, e.g. 02:30 on the last Sunday of October in
  Europe): two instants an hour apart. `ambiguous: first` (default) takes the first occurrence
  (still summer time, the earlier instant), `second` the later one, `reject` rejects the row.
  Either way the other reading is kept (`Stamp.alt`): when an end time read this way would fall
  before its start time, the pipeline takes the other reading (core.py, `_resolve_order`);
- non-existent (the skipped hour when clocks go forward, e.g. 02:30 on the last Sunday of March):
  `nonexistent: shift_forward` (default) reads it with the offset in force before the change, so
  02:30 becomes 03:30 summer time (moved forward by the length of the gap, as a clock that was not
  adjusted would show); `shift_backward` reads it with the offset after the change (01:30 winter
  time); `reject` rejects the row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from orchestration.importer.spec import InputOptions, Spec, TimeOptions, cell_text

UTC = UTC
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
TRUE = {"true", "t", "yes", "y", "1"}
FALSE = {"false", "f", "no", "n", "0"}


class FieldError(Exception):
    """A value that cannot be typed: `reason` is a short category (counted in the summary),
    `detail` says what exactly."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def to_decimal(v: Any, opts: InputOptions, field: str) -> Decimal:
    if isinstance(v, bool):
        raise FieldError(f"unparseable {field}", f"{v!r} is not a number")
    if isinstance(v, (int, Decimal)):
        return Decimal(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise FieldError(f"unparseable {field}", f"{v!r} is not a finite number")
        return Decimal(repr(v))
    text = cell_text(v) or ""
    t = text.replace("\u00a0", "").replace(" ", "")
    if opts.thousands:
        t = t.replace(opts.thousands, "")
    if opts.decimal != ".":
        if "." in t:
            raise FieldError(f"unparseable {field}", f"{text!r} is not a number with decimal mark {opts.decimal!r}")
        t = t.replace(opts.decimal, ".")
    if not NUMBER.fullmatch(t):
        raise FieldError(f"unparseable {field}", f"{text!r} is not a number")
    try:
        return Decimal(t)
    except InvalidOperation:
        raise FieldError(f"unparseable {field}", f"{text!r} is not a number") from None


def to_int(v: Any, opts: InputOptions, field: str) -> int:
    d = to_decimal(v, opts, field)
    if d != d.to_integral_value():
        raise FieldError(f"unparseable {field}", f"{cell_text(v)!r} is not a whole number")
    return int(d)


def to_bool(v: Any, field: str) -> bool:
    if isinstance(v, bool):
        return v
    text = (cell_text(v) or "").lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise FieldError(f"unparseable {field}", f"{cell_text(v)!r} is not true/false")


@dataclass(frozen=True)
class Stamp:
    """A timestamp in UTC (aware). `alt` is the other reading of an ambiguous local time;
    `kind` is normal | ambiguous | nonexistent | utc (the input carried its own offset)."""

    utc: datetime
    alt: datetime | None = None
    kind: str = "normal"


def localize(
    naive: datetime,
    tz: ZoneInfo,
    ambiguous: str = "first",
    nonexistent: str = "shift_forward",
    field: str = "timestamp",
) -> Stamp:
    """The UTC instant of a local wall-clock time in `tz` (see the module docstring)."""
    d0 = naive.replace(tzinfo=tz, fold=0)
    d1 = naive.replace(tzinfo=tz, fold=1)
    o0, o1 = d0.utcoffset(), d1.utcoffset()
    u0 = (naive - o0).replace(tzinfo=UTC)
    if o0 == o1:
        return Stamp(u0)
    u1 = (naive - o1).replace(tzinfo=UTC)
    early, late = min(u0, u1), max(u0, u1)
    exists = u0.astimezone(tz).replace(tzinfo=None) == naive
    if exists:  # both readings are real instants: the repeated hour
        if ambiguous == "reject":
            raise FieldError(
                "ambiguous local time", f"{field} {naive:%Y-%m-%d %H:%M:%S} occurs twice in {tz.key} (clocks go back)"
            )
        if ambiguous == "first":
            return Stamp(early, late, "ambiguous")
        return Stamp(late, early, "ambiguous")
    if nonexistent == "reject":
        raise FieldError(
            "non-existent local time",
            f"{field} {naive:%Y-%m-%d %H:%M:%S} does not exist in {tz.key} (clocks go forward)",
        )
    return Stamp(late if nonexistent == "shift_forward" else early, None, "nonexistent")


def _apply_year_offset(dt: datetime, offset: int | None) -> datetime:
    if offset and dt.year < 100:
        try:
            return dt.replace(year=dt.year + offset)
        except ValueError:  # 29 February of a year that is no leap year after the offset
            raise FieldError("unparseable timestamp", f"{dt:%Y-%m-%d} + {offset} years is no date") from None
    return dt


# Zone names %Z reads. strptime's %Z accepts UTC, GMT and the machine's own zone names and then
# drops them (a naive result, taken as the mapping's zone: ACN-Data's "... 14:21:35 GMT" shifted by
# the zone's offset). Abbreviations such as PST or CET are ambiguous and are not accepted.
UTC_NAMES = ("UTC", "GMT", "Z", "UT")


def _strptime_zone_name(text: str, fmt: str) -> datetime:
    """strptime with %Z read as a zone: the name must be UTC or GMT (the result is then in UTC)."""
    m = re.search(r"(?<![A-Za-z])(" + "|".join(UTC_NAMES) + r")(?![A-Za-z])", text)
    if not m:
        raise ValueError("%Z: not UTC/GMT")
    fixed = text[: m.start()] + "+0000" + text[m.end() :]
    return datetime.strptime(fixed, fmt.replace("%Z", "%z"))


def parse_datetime(v: Any, formats: tuple, replace: tuple, year_offset: int | None, field: str) -> datetime:
    """A raw value as a datetime: naive (local wall clock) or aware (the input had an offset)."""
    if isinstance(v, datetime):
        return _apply_year_offset(v, year_offset)
    if isinstance(v, date):
        return _apply_year_offset(datetime(v.year, v.month, v.day), year_offset)
    text = cell_text(v) or ""
    original = text
    for rx, repl in replace:
        text = rx.sub(repl, text)
    for fmt in formats:
        try:
            if fmt == "iso":
                dt = datetime.fromisoformat(text)
            elif fmt in ("epoch_s", "epoch_ms"):
                if not NUMBER.fullmatch(text):
                    continue
                seconds = float(text) / (1000 if fmt == "epoch_ms" else 1)
                dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
            elif "%Z" in fmt:
                dt = _strptime_zone_name(text, fmt)
            else:
                dt = datetime.strptime(text, fmt)
        except (ValueError, OverflowError):
            continue
        return _apply_year_offset(dt, year_offset)
    shown = repr(original) if text == original else f"{original!r} (fixed up to {text!r})"
    hint = (
        " (%Z reads only UTC or GMT: an abbreviation such as PST or CET names no single offset)"
        if any("%Z" in f for f in formats)
        else ""
    )
    raise FieldError(f"unparseable {field}", f"{shown} matches none of the formats {', '.join(formats)}{hint}")


def to_stamp(v: Any, spec: Spec, time: TimeOptions, tz: ZoneInfo, field: str) -> Stamp:
    """A raw value as a UTC Stamp. A constant written in the mapping is ISO-8601 (with an offset
    or Z; without one it is local time in `tz`), or any of the mapping's formats; its text gets no
    `time.replace` fix-ups, which are for the export's own timestamps."""
    if spec.kind == "const":
        formats = spec.formats or ("iso",) + tuple(time.formats)
        replace: tuple = ()
    else:
        formats = spec.formats or time.formats
        replace = time.replace
    year_offset = spec.year_offset if spec.year_offset is not None else time.year_offset
    dt = parse_datetime(v, formats, replace, year_offset, field)
    if dt.tzinfo is not None:
        return Stamp(dt.astimezone(UTC), None, "utc")
    return localize(dt, tz, time.ambiguous, time.nonexistent, field)


def fmt_ts(dt: datetime | None) -> str | None:
    """ISO-8601 UTC with a Z: 2019-03-31T01:30:00Z (fractions only when there are any)."""
    if dt is None:
        return None
    dt = dt.astimezone(UTC).replace(tzinfo=None)
    text = dt.isoformat(timespec="microseconds" if dt.microsecond else "seconds")
    return text + "Z"


def fmt_decimal(d: Decimal) -> str:
    text = format(d, "f")
    if text in ("-0", "-0.0") or (text.startswith("-") and Decimal(text) == 0):
        text = text[1:]
    return text
