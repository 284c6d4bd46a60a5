"""The same dbt project on Spark (DESIGN.md section 8, docs/scaling.md).

    export   the raw tables of a build database as Parquet directories, one per landing source,
             which the dbt `spark` target registers as its sources (macro register_raw_sources)
    check    `make spark-check`: build one generated landing zone on DuckDB (the whole job) and
             on local Spark (dbt-spark, session method) and compare every published mart

Command line: `python -m orchestration.spark export|check --help`.
"""
