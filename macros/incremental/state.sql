{#- Per-model incremental state: how far into raw each incremental model has read.

    Every incremental model has its own small log table, intermediate._incremental_state__<schema>__<model>,
    with one row per successful build: `loaded_through`, the raw high-water mark (the latest
    raw `_loaded_at` / quarantine time that existed when the model was built), the as_of_date
    and date window of the run, and whether it was a full build. The row is appended by the
    model's post-hook, inside the model's own transaction: if the model fails, neither its data
    nor its state move; if a downstream model fails or is skipped, it keeps its older state and
    catches up on its next run. One table per model (not one shared table) so that models
    building in parallel threads never write the same table. The tables live outside `marts`,
    so they are never published.

    Raw is loaded only between dbt runs (DuckDB allows one writer and dbt holds it), and the
    loader stamps `_loaded_at` with the load's wall-clock time, so "loaded since the model's
    build" is `_loaded_at > loaded_through`. -#}

{% macro incremental_state_relation(relation=none) -%}
    {%- set rel = relation if relation is not none else this -%}
    {{ return(api.Relation.create(
        database=rel.database,
        schema=generate_schema_name('intermediate', none),
        identifier='_incremental_state__' ~ rel.schema ~ '__' ~ rel.identifier)) }}
{%- endmacro %}

{#- The latest state row of a model as a dict {loaded_through, as_of_date} (ISO strings), or
    none when the model has no recorded state (never built incrementally, state dropped, or its
    last build was `--empty`). Only call when `execute`. -#}
{% macro read_incremental_state(relation=none) -%}
    {%- set state_rel = incremental_state_relation(relation) -%}
    {%- if not incremental_state_exists(state_rel) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set result = run_query(
        'select cast(loaded_through as ' ~ dbt.type_string() ~ '), cast(as_of_date as ' ~ dbt.type_string() ~ ')'
        ~ ' from ' ~ state_rel ~ ' order by built_at desc limit 1') -%}
    {%- if result.rows | length == 0 or result.rows[0][0] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return({'loaded_through': result.rows[0][0], 'as_of_date': result.rows[0][1]}) }}
{%- endmacro %}

{#- Whether a state table exists, asked of the catalog (not dbt's relation cache, which does not
    know tables created by hooks earlier in the same run). -#}
{% macro incremental_state_exists(state_rel) -%}
    {{ return(adapter.dispatch('incremental_state_exists', 'ev_warehouse')(state_rel)) }}
{%- endmacro %}

{% macro default__incremental_state_exists(state_rel) -%}
    {%- set sql -%}
        select count(*)
        from information_schema.tables
        where lower(table_schema) = lower('{{ state_rel.schema }}')
            and lower(table_name) = lower('{{ state_rel.identifier }}')
            {%- if state_rel.database %}
            and lower(table_catalog) = lower('{{ state_rel.database }}')
            {%- endif %}
    {%- endset -%}
    {{ return(run_query(sql).rows[0][0] > 0) }}
{%- endmacro %}

{#- SQL: the raw high-water mark now — the greatest `_loaded_at` of every raw table and
    `quarantined_at` of the quarantine (a file whose records were all quarantined moves only the
    latter). `since` (a timestamp string) limits the scans to newer rows, which zone maps prune
    cheaply since raw tables are appended in load order. -#}
{% macro raw_high_water_mark_sql(since=none) -%}
    {%- set floor = "cast('1900-01-01 00:00:00' as timestamp)" -%}
    {%- set since_filter = (" > cast('" ~ since ~ "' as timestamp)") if since is not none else none -%}
    greatest(
        {%- if since is not none %}
        cast('{{ since }}' as timestamp),
        {%- endif %}
        {%- for rel in raw_lineage_relations() %}
        coalesce((select max(_loaded_at) from {{ rel }}{% if since_filter %} where _loaded_at{{ since_filter }}{% endif %}), {{ floor }}),
        {%- endfor %}
        coalesce((select max(quarantined_at) from {{ raw_quarantine_relation() }}{% if since_filter %} where quarantined_at{{ since_filter }}{% endif %}), {{ floor }})
    )
{%- endmacro %}

{#- The incremental models (replace_affected) this model reads directly. -#}
{% macro incremental_parent_relations() -%}
    {%- set parents = [] -%}
    {%- for unique_id in model.depends_on.nodes -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- if node is not none and node.resource_type == 'model'
              and node.config.materialized == 'incremental'
              and node.config.incremental_strategy == 'replace_affected' -%}
            {%- do parents.append(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(parents) }}
{%- endmacro %}

{#- Post-hook of every incremental model: append its state row (see above).

    The recorded high-water mark is capped by the one of every incremental model it reads: if an
    upstream incremental model was not rebuilt in this run (a partial `--select`), this model
    read it as it was, and the changes that model has not caught up with yet must be detected
    again on this model's next run. (Upstream *tables* are not tracked: build them with the
    model, e.g. `dbt build --select +model`, as always with dbt.) -#}
{% macro record_incremental_state() -%}
    {%- if execute -%}
    {%- set state_rel = incremental_state_relation(this) -%}
    {%- set previous = read_incremental_state(this) -%}
    {%- set since = previous.loaded_through if previous is not none else none -%}
    {%- set caps = [] -%}
    {%- set parent_without_state = [] -%}
    {%- for parent in incremental_parent_relations() -%}
        {%- set parent_state = read_incremental_state(parent) -%}
        {%- if parent_state is none -%}
            {%- do parent_without_state.append(parent) -%}
        {%- else -%}
            {%- do caps.append(timestamp_literal(parent_state.loaded_through)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set min_date = run_var('min_date') -%}
    {%- set max_date = run_var('max_date') -%}
    create schema if not exists {{ state_rel.without_identifier() }};
    create table if not exists {{ state_rel }} (
        loaded_through timestamp,
        as_of_date date,
        min_date date,
        max_date date,
        full_build boolean,
        built_at timestamp
    );
    insert into {{ state_rel }} (loaded_through, as_of_date, min_date, max_date, full_build, built_at)
    select
        {#- a build with --empty read no data (nor did an upstream model without state): record no
            high-water mark, so that the next run is a full recomputation #}
        {%- if flags.EMPTY or parent_without_state %}
        cast(null as timestamp),
        {%- elif caps %}
        least({{ raw_high_water_mark_sql(since) }}, {{ caps | join(', ') }}),
        {%- else %}
        {{ raw_high_water_mark_sql(since) }},
        {%- endif %}
        {{ as_of_date() }},
        {% if min_date %}cast('{{ min_date }}' as date){% else %}cast(null as date){% endif %},
        {% if max_date %}cast('{{ max_date }}' as date){% else %}cast(null as date){% endif %},
        {{ 'false' if is_incremental() and not should_full_refresh() else 'true' }},
        current_timestamp;
    {%- if not is_incremental() or should_full_refresh() %}
    {#- built from scratch (first build, --full-refresh): the publish step copies it whole -#}
    {{ log_publish_change('full') }}
    {%- endif %}
    {%- endif -%}
{%- endmacro %}
