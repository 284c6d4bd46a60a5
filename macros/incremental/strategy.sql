{#- Incremental strategy `replace_affected`: replace exactly what the model's incremental plan
    says is affected (see plan.sql), then insert the freshly computed rows.

      full recomputation     delete every row, insert the complete result;
      date-partitioned       (meta.incremental.partition_by = a DATE column, optionally
                             meta.incremental.charge_point_column / site_column) delete the rows
                             of the affected dates, charge points and sites — including
                             partitions that no longer have any row — with the same predicate
                             the model selected its rows with;
      keyed                  (unique_key) delete the rows whose key was recomputed: keys only
                             disappear from raw through a quarantine move, which forces a full
                             recomputation, so every recomputed key is in the new rows.

    Use:
        config(materialized='incremental', incremental_strategy='replace_affected',
               meta={'incremental': {'plan': 'network_dates', 'partition_by': 'date'}},
               post_hook="{{ record_incremental_state() }}")

    Both statements run in the model's transaction, with the state row of the post-hook. -#}
{% macro get_incremental_replace_affected_sql(arg_dict) -%}
    {%- set options = incremental_options() -%}
    {%- set plan = incremental_plan_of_model() -%}
    {%- do log(this ~ ': ' ~ describe_incremental_plan(plan), info=true) -%}
    {%- if not plan.full and not options.get('partition_by') and not arg_dict['unique_key'] -%}
        {{ exceptions.raise_compiler_error('replace_affected: ' ~ this ~ ' needs meta.incremental.partition_by or a unique_key') }}
    {%- endif -%}
    {%- set predicate = none -%}
    {%- if not plan.full and options.get('partition_by') -%}
        {%- set predicate = incremental_date_filter(options.get('partition_by'), plan, options.get('charge_point_column'), options.get('site_column')) -%}
    {%- endif -%}
    {%- set replace_sql = adapter.dispatch('replace_affected_sql', 'ev_warehouse')(
        arg_dict['target_relation'], arg_dict['temp_relation'], arg_dict['dest_columns'],
        none if plan.full else arg_dict['unique_key'], predicate, plan.full) -%}
    {#- what was replaced, for the publish step (publish_log.sql) -#}
    {%- if plan.full -%}
        {%- set change_sql = log_publish_change('full') -%}
    {%- elif predicate is not none -%}
        {%- set change_sql = log_publish_change('predicate', predicate=predicate) -%}
    {%- else -%}
        {%- set change_sql = log_publish_change('keys', source=arg_dict['temp_relation'], keys=arg_dict['unique_key']) -%}
    {%- endif -%}
    {{ return(replace_sql ~ ';\n' ~ change_sql) }}
{%- endmacro %}

{#- Replace the affected rows of `target` with the rows of `source`: all rows (`full`), the rows
    matching `predicate` (date-partitioned), or the rows whose `unique_key` is in `source`.
    default__ is delete + insert in one transaction (DuckDB, Postgres-like engines); an engine
    with an atomic replace (Delta: INSERT INTO ... REPLACE WHERE, MERGE for keys) dispatches its
    own. -#}
{% macro default__replace_affected_sql(target, source, dest_columns, unique_key, predicate, full) -%}
    {%- set dest_cols_csv = get_quoted_csv(dest_columns | map(attribute='name')) -%}
    {%- if full %}
    delete from {{ target }};
    {%- elif predicate is not none %}
    delete from {{ target }}
    where {{ predicate }};
    {%- else %}
        {%- set keys = [unique_key] if unique_key is string else unique_key %}
    delete from {{ target }} as incremental_target
    using {{ source }} as incremental_source
    where
        {%- for key in keys %}
        incremental_source.{{ key }} = incremental_target.{{ key }}{{ ' and' if not loop.last }}
        {%- endfor %};
    {%- endif %}

    insert into {{ target }} ({{ dest_cols_csv }})
    select {{ dest_cols_csv }}
    from {{ source }}
{%- endmacro %}
