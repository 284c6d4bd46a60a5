{#- The dbt sources of the `spark` target: every source table of schema `raw` is a table over a
    Parquet directory `<raw dir>/<identifier>`, and every table of schema `run_plan` (the rebuild
    plan of an incremental build) one over `<plan dir>/<identifier>` — both written by
    `python -m orchestration.spark export`, or by a load and the planner on a cluster. Run by the
    on-run-start hook. The directories are configuration: the vars `spark_raw_dir` /
    `spark_plan_dir`, else WAREHOUSE_SPARK_RAW_DIR / WAREHOUSE_SPARK_PLAN_DIR, else
    $WAREHOUSE_DIR/spark/raw and $WAREHOUSE_DIR/spark/run_plan (a local path, or a URI such as
    s3://bucket/raw on a cluster). Each table is dropped and created again (metadata only: the
    files stay), so its schema and files are those of the files now.
    On DuckDB the loader and the planner write these tables themselves: nothing to do. -#}
{% macro register_raw_sources() -%}
    {{ return(adapter.dispatch('register_raw_sources', 'ev_warehouse')()) }}
{%- endmacro %}

{% macro default__register_raw_sources() -%}
{%- endmacro %}

{% macro spark__register_raw_sources() -%}
    {%- if execute -%}
        {%- set base = env_var('WAREHOUSE_DIR', 'warehouse') ~ '/spark/' -%}
        {%- set dirs = {
            'raw': var('spark_raw_dir', env_var('WAREHOUSE_SPARK_RAW_DIR', base ~ 'raw')) | string,
            'run_plan': var('spark_plan_dir', env_var('WAREHOUSE_SPARK_PLAN_DIR', base ~ 'run_plan')) | string,
        } -%}
        {%- set schemas = [] -%}
        {%- for source in graph.sources.values() if source.schema in dirs -%}
            {%- if source.schema not in schemas -%}
                {%- do run_query('create database if not exists ' ~ adapter.quote(source.schema)) -%}
                {%- do schemas.append(source.schema) -%}
            {%- endif -%}
            {%- set table = adapter.quote(source.schema) ~ '.' ~ adapter.quote(source.identifier) -%}
            {%- set location = spark_absolute_dir(dirs[source.schema]).rstrip('/') ~ '/' ~ source.identifier -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- do run_query('create table ' ~ table ~ ' using parquet location ' ~ "'" ~ location.replace('\\', '\\\\').replace("'", "\\'") ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- Spark resolves a relative LOCATION against the database's directory, not the working
    directory: a relative dir is taken relative to the shell's $PWD. -#}
{% macro spark_absolute_dir(path) -%}
    {%- if path.startswith('/') or ':' in path -%}
        {{- return(path) -}}
    {%- elif env_var('PWD', '').startswith('/') -%}
        {{- return(env_var('PWD') ~ '/' ~ path) -}}
    {%- else -%}
        {%- do exceptions.raise_compiler_error('register_raw_sources: the dir ' ~ path ~ ' is relative; set WAREHOUSE_SPARK_RAW_DIR / WAREHOUSE_SPARK_PLAN_DIR (or WAREHOUSE_DIR) to an absolute path or a URI') -%}
    {%- endif -%}
{%- endmacro %}
