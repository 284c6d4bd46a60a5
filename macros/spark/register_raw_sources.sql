{#- The dbt sources of the `spark` target: every source table of schema `raw` is a table over a
    Parquet directory `<raw dir>/<identifier>` (written by `python -m orchestration.spark export`,
    or by a load on the cluster). Run by the on-run-start hook. The raw dir is configuration:
    the var `spark_raw_dir`, else WAREHOUSE_SPARK_RAW_DIR, else $WAREHOUSE_DIR/spark/raw (a local
    path, or a URI such as s3://bucket/raw on a cluster). Each table is dropped and created again
    (metadata only: the files stay), so its schema and file list are those of the files now.
    On DuckDB the loader writes the raw tables itself: nothing to do. -#}
{% macro register_raw_sources() -%}
    {{ return(adapter.dispatch('register_raw_sources', 'ev_warehouse')()) }}
{%- endmacro %}

{% macro default__register_raw_sources() -%}
{%- endmacro %}

{% macro spark__register_raw_sources() -%}
    {%- if execute -%}
        {%- set default_dir = env_var('WAREHOUSE_DIR', 'warehouse') ~ '/spark/raw' -%}
        {%- set raw_dir = var('spark_raw_dir', env_var('WAREHOUSE_SPARK_RAW_DIR', default_dir)) | string -%}
        {#- Spark resolves a relative LOCATION against the database's directory, not the working
            directory: a relative raw dir is taken relative to the shell's $PWD. -#}
        {%- if not (raw_dir.startswith('/') or ':' in raw_dir) -%}
            {%- if env_var('PWD', '').startswith('/') -%}
                {%- set raw_dir = env_var('PWD') ~ '/' ~ raw_dir -%}
            {%- else -%}
                {%- do exceptions.raise_compiler_error('register_raw_sources: the raw dir ' ~ raw_dir ~ ' is relative; set WAREHOUSE_SPARK_RAW_DIR (or WAREHOUSE_DIR) to an absolute path or a URI') -%}
            {%- endif -%}
        {%- endif -%}
        {%- set schemas = [] -%}
        {%- for source in graph.sources.values() if source.schema == 'raw' -%}
            {%- if source.schema not in schemas -%}
                {%- do run_query('create database if not exists ' ~ adapter.quote(source.schema)) -%}
                {%- do schemas.append(source.schema) -%}
            {%- endif -%}
            {%- set table = adapter.quote(source.schema) ~ '.' ~ adapter.quote(source.identifier) -%}
            {%- set location = raw_dir.rstrip('/') ~ '/' ~ source.identifier -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- do run_query('create table ' ~ table ~ ' using parquet location ' ~ "'" ~ location.replace('\\', '\\\\').replace("'", "\\'") ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
