{#- A run setting: the dbt var `name` when given (`dbt build --vars '{as_of_date: 2025-06-30}'`),
    else — while executing only — the environment variable WAREHOUSE_DBT_<NAME>, which is how the
    Dagster job passes its logical date. Reading it only while executing keeps it out of dbt's
    parse state: dbt re-parses the whole project whenever --vars change (every day), but reuses
    its partial parse when only execution-time values do. Returns a string, or none. -#}
{% macro run_var(name) -%}
    {%- set value = var(name, none) -%}
    {%- if (value is none or value == '') and execute -%}
        {%- set value = env_var('WAREHOUSE_DBT_' ~ (name | upper), '') -%}
    {%- endif -%}
    {{ return(none if (value is none or value == '') else value) }}
{%- endmacro %}
