"""Small builders for importer tests: a mapping as a dict, written to YAML, and tiny exports."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"

BASE = {
    "name": "tiny",
    "input": {"format": "csv", "delimiter": ";", "decimal": ","},
    "time": {"zone": "Europe/Oslo", "formats": ["%d.%m.%Y %H:%M"]},
    "operator": {"operator_id": "op", "name": "Op", "country_code": "NO", "currency": "NOK"},
    "team": {"team_id": "team", "name": "Team"},
    "sites": {"site_id": {"template": "site-{site}"}, "time_zone": "Europe/Oslo"},
    "charge_points": {
        "charge_point_id": {"template": "cp-{cp}"},
        "charging_type": "AC",
        "max_power_kw": 11,
        "connector_count": 1,
        "access": "public",
        "roaming_enabled": False,
        "commissioned_at": "first_session",
    },
    "sessions": {
        "session_id": {"template": "s-{id}"},
        "plugged_in_at": {"column": "start"},
        "unplugged_at": {"column": "end"},
        "kwh": {"column": "kwh", "unit": "kWh"},
    },
}

HEADER = "id;site;cp;start;end;kwh\n"


def mapping(tmp: Path, **overrides) -> Path:
    """A mapping file: BASE with top-level sections replaced or (for dict values) updated."""
    m = copy.deepcopy(BASE)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(m.get(key), dict):
            m[key].update(value)
        else:
            m[key] = value
    path = tmp / f"{m['name']}.yml"
    path.write_text(yaml.safe_dump(m, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def export(tmp: Path, text: str, name: str = "export.csv") -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def sessions(out: Path) -> list[dict]:
    lines = []
    for f in sorted((out / "sessions").glob("*.jsonl")):
        lines += [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines()]
    return lines


def by_id(out: Path) -> dict[str, dict]:
    return {s["session_id"]: s for s in sessions(out)}


def tree(out: Path) -> dict[str, bytes]:
    """Every file under `out` (relative path → bytes)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
