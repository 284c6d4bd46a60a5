{#- The run's logical date (DESIGN.md section 5) as a SQL DATE: the var `as_of_date` (Dagster
    passes it as WAREHOUSE_DBT_AS_OF_DATE, see run_var); without it, today's UTC date is taken by
    dbt at compile time — never by the SQL engine's clock inside a model. -#}
{% macro as_of_date() -%}
    cast('{{ as_of_date_iso() }}' as date)
{%- endmacro %}

{#- The run's as_of_date as an ISO string (what as_of_date() renders). -#}
{% macro as_of_date_iso() -%}
    {%- set value = run_var('as_of_date') -%}
    {%- if value is none -%}
        {%- set value = modules.datetime.datetime.now(modules.pytz.utc).date().isoformat() -%}
    {%- endif -%}
    {{ return((value | string)[:10]) }}
{%- endmacro %}
