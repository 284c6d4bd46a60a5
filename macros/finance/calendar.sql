{#- UTC calendar helpers for the finance domain (DESIGN.md section 5: ledger, invoices and CDR
    money use the UTC calendar). Timestamps in the warehouse are naive UTC, so the UTC date of a
    timestamp is a plain cast and the UTC month is its first day. -#}

{#- The UTC calendar date of a (naive UTC) timestamp. -#}
{% macro utc_calendar_date(timestamp_expr) -%}
    cast({{ timestamp_expr }} as date)
{%- endmacro %}

{#- The UTC calendar month of a timestamp or date, as the DATE of its first day. -#}
{% macro utc_calendar_month(timestamp_expr) -%}
    cast({{ dbt.date_trunc('month', timestamp_expr) }} as date)
{%- endmacro %}

{#- "Current month" of the run: the first day of the as_of_date's UTC month. -#}
{% macro as_of_month_start() -%}
    {{ utc_calendar_month(as_of_date()) }}
{%- endmacro %}
