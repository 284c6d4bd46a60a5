{#- The run's logical date (DESIGN.md section 5) as a SQL DATE. Dagster passes the var
    `as_of_date`; without it, today's UTC date is taken by dbt at compile time — never by the
    SQL engine's clock inside a model. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if value is none or value == '' -%}
        {%- set value = modules.datetime.datetime.now(modules.pytz.utc).date().isoformat() -%}
    {%- endif -%}
    cast('{{ value }}' as date)
{%- endmacro %}
