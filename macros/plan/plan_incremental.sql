{#- The configuration of a model the run's plan rebuilds in part (orchestration/plan.py), with
    dbt's own strategies: delete+insert on `unique_key` on DuckDB, insert_overwrite of the
    `partition_column` partitions on Spark; meta.plan_set names the run_plan set that selects the
    rows a run rebuilds (publish replaces the same rows). A model keyed by its partition column
    (the date-grained ones) needs no key on Spark, where whole partitions are replaced.
    Use: {{ config(plan_incremental('network_dates')) }}. -#}
{% macro plan_incremental(plan_set, unique_key='date', partition_column='date') -%}
    {%- set spark = target.type == 'spark' -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite' if spark else 'delete+insert',
        'unique_key': none if (spark and unique_key == partition_column) else unique_key,
        'partition_by': [partition_column] if spark else none,
        'meta': {'plan_set': plan_set},
    }) }}
{%- endmacro %}
