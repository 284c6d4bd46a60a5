"""Import real operators' session exports into a landing zone (DESIGN.md section 4).

    from orchestration.importer import import_export
    summary = import_export("mappings/norway_residential.yml",
                            "../shared/datasets/norway_residential/sessions.csv", "data/landing")

An export (CSV with any delimiter and decimal mark, XLSX, JSON or JSON lines) is turned into
`operators/`, `teams/`, `sites/`, `charge_points/` and `sessions/` landing files by a declarative
YAML mapping (see `docs/importing.md` and `mappings/`); no code per dataset. Rows that cannot
become valid sessions are rejected with their line and reason (summary and
`<out>/_import_rejects/<export>.csv`), never written and never dropped silently.

`reference.py` recomputes site utilization straight from a raw export with plain pandas, as an
independent check of the warehouse's marts.
"""

from __future__ import annotations

from pathlib import Path

from orchestration.importer.core import LandingConflict, run_import
from orchestration.importer.readers import ExportError
from orchestration.importer.spec import Mapping, MappingError, load_mapping

__all__ = ["import_export", "load_mapping", "Mapping", "MappingError", "ExportError", "LandingConflict"]


def import_export(mapping: Path | str, input: Path | str, out: Path | str, *, overwrite: bool = False) -> dict:
    """Import the export `input` with the mapping file `mapping` into the landing directory `out`.

    Returns a summary (JSON-serialisable dict): rows_read, sessions_written, rows_rejected,
    rejects_by_reason {reason: count}, rejects [{line, reason, detail, session_id}] (the first
    200; all of them are in `rejects_report`), operators/teams/sites/charge_points derived (counts,
    and site_ids / charge_point_ids), kwh_total, the time-zone handling (zones, ambiguous and
    non-existent local times met), files written [{path, status written|unchanged, bytes, sha256}]
    and warnings (e.g. a site attribute that differs between rows).

    Raises MappingError (the mapping is invalid), ExportError (the input cannot be read with it:
    missing file, wrong encoding, a mapped column not in the header, ...) and LandingConflict (a
    landing file of the same name exists with other content; `overwrite=True` replaces it).
    Re-importing the same input with the same mapping writes byte-identical files.
    """
    return run_import(mapping, input, out, overwrite=overwrite)
