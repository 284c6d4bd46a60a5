{#- The run's logical date (DESIGN.md section 5) as a SQL DATE: the var `as_of_date` (Dagster
    passes it as WAREHOUSE_DBT_AS_OF_DATE, see run_var); without it, today's UTC date is taken by
    dbt at compile time — never by the SQL engine's clock inside a model. -#}
{% macro as_of_date() -%}
    cast('{{ as_of_date_iso() }}' as date)
{%- endmacro %}

{#- The run's as_of_date as an ISO string (what as_of_date() renders). It is parsed as a date
    and written back by Python's date.isoformat(), so only YYYY-MM-DD ever reaches the SQL text;
    anything else stops the run with a message. -#}
{% macro as_of_date_iso() -%}
    {%- set value = run_var('as_of_date') -%}
    {%- if value is none -%}
        {{ return(modules.datetime.datetime.now(modules.pytz.utc).date().isoformat()) }}
    {%- endif -%}
    {%- set text = (value | string)[:10] -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', text) -%}
        {{ exceptions.raise_compiler_error('as_of_date must be a date YYYY-MM-DD, got ' ~ (value | string | tojson)) }}
    {%- endif -%}
    {{ return(modules.datetime.date(text[:4] | int, text[5:7] | int, text[8:10] | int).isoformat()) }}
{%- endmacro %}
