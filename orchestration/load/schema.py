"""DDL of the raw layer in the build database: one table per landing source plus the loader's
bookkeeping tables (quarantine, load audit, files)."""

from __future__ import annotations

import duckdb

from orchestration.contract import SOURCES, raw_table_ddl

BOOKKEEPING_DDL = [
    """CREATE TABLE IF NOT EXISTS raw._quarantine (
        source VARCHAR NOT NULL,        -- landing source (folder)
        file VARCHAR NOT NULL,          -- path relative to the landing dir
        file_hash VARCHAR NOT NULL,     -- SHA-256 of the file
        line BIGINT,                    -- line number (1-based; NULL for a whole-file problem)
        rule VARCHAR NOT NULL,          -- the rule the record broke
        raw_text VARCHAR,               -- the record exactly as it was in the file
        quarantined_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS raw._load_audit (
        source VARCHAR NOT NULL,
        file VARCHAR NOT NULL,
        file_hash VARCHAR NOT NULL,
        status VARCHAR NOT NULL,        -- loaded | refused
        rows_read BIGINT NOT NULL,      -- records in the file (non-blank lines; CSV: data rows)
        rows_loaded BIGINT NOT NULL,
        rows_quarantined BIGINT NOT NULL,
        rows_duplicate BIGINT NOT NULL, -- identical to a record already loaded: skipped
        message VARCHAR,                -- why a file was refused
        run_id VARCHAR,
        loaded_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS raw._loaded_files (
        file_hash VARCHAR PRIMARY KEY,  -- a file is identified by its content
        source VARCHAR NOT NULL,
        file VARCHAR NOT NULL,          -- the path it was first loaded from
        loaded_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS raw._conflicts (
        source VARCHAR NOT NULL,
        key_hash VARCHAR NOT NULL,      -- MD5 of the key of a record that had conflicting versions
        file_hash VARCHAR NOT NULL,     -- a file and line holding one of the versions
        line BIGINT,
        conflicted_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS raw._files_seen (
        source VARCHAR NOT NULL,
        file VARCHAR NOT NULL,
        file_hash VARCHAR NOT NULL,
        size_bytes BIGINT NOT NULL,
        first_seen_at TIMESTAMP NOT NULL,
        PRIMARY KEY (file, file_hash)
    )""",
    # The SHA-256 of a landing file, remembered with the file's identity on disk, so that a run
    # does not read every file of the landing zone again (gigabytes at tens of millions of
    # sessions) just to find the few new ones. See loader.FileDigests for when it is trusted.
    """CREATE TABLE IF NOT EXISTS raw._file_digests (
        file VARCHAR NOT NULL,          -- path relative to the landing dir
        size_bytes BIGINT NOT NULL,
        mtime_ns BIGINT NOT NULL,
        ctime_ns BIGINT NOT NULL,
        inode BIGINT NOT NULL,
        file_hash VARCHAR NOT NULL,
        hashed_at_ns BIGINT NOT NULL    -- wall clock when the content was read
    )""",
]


BOOKKEEPING_DDL.append(
    # Great Expectations' validation of each loaded batch's sample (loader.py): the SQL enforced
    # the suite on every record; GX re-validated these records and agreed or not. The Data Docs
    # (`make docs`) show the latest result per source.
    """CREATE TABLE IF NOT EXISTS raw._gx_validations (
        source VARCHAR NOT NULL,
        run_id VARCHAR,
        validated_at TIMESTAMP NOT NULL,
        records BIGINT NOT NULL,        -- records GX validated
        flagged BIGINT NOT NULL,        -- of which the SQL had flagged
        disagreements JSON,             -- expectation by expectation, where GX and the SQL differ
        result JSON                     -- GX's ExpectationSuiteValidationResult
    )"""
)


# Columns added after the first release: added in place to existing build databases.
MIGRATIONS = [
    # records of a refused file (read = loaded + quarantined + duplicate + refused, every row)
    "ALTER TABLE raw._load_audit ADD COLUMN IF NOT EXISTS rows_refused BIGINT DEFAULT 0",
]


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Schema raw with the bookkeeping and source tables — and the (empty) run_plan tables, which
    are dbt sources too: a `dbt build` right after a load-only run finds every source it names."""
    from orchestration import plan

    plan.ensure_schema(con)
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for ddl in BOOKKEEPING_DDL:
        con.execute(ddl)
    for ddl in MIGRATIONS:
        con.execute(ddl)
    for src in SOURCES.values():
        con.execute(raw_table_ddl(src))
