{#- The run's logical date (DESIGN.md section 5) as a SQL DATE: the var `as_of_date` (Dagster
    passes it as WAREHOUSE_DBT_AS_OF_DATE, see run_var); without it, today's UTC date is taken by
    dbt at compile time — never by the SQL engine's clock inside a model. -#}
{% macro as_of_date() -%}
    {%- set value = run_var('as_of_date') -%}
    {%- if value is none or value == '' -%}
        {%- set value = modules.datetime.datetime.now(modules.pytz.utc).date().isoformat() -%}
    {%- endif -%}
    cast('{{ value }}' as date)
{%- endmacro %}
