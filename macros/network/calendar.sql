{#- Calendar helpers shared by the network models (portable: built on dbt's cross-database
    macros or dispatched). -#}

{#- First day of the month of a DATE, as a DATE. -#}
{% macro month_start(date_expression) -%}
    cast({{ dbt.date_trunc('month', date_expression) }} as date)
{%- endmacro %}

{#- A DATE plus `days` days, as a DATE (NULL for a NULL date). -#}
{% macro add_days(date_expression, days) -%}
    {{ return(adapter.dispatch('add_days', 'ev_warehouse')(date_expression, days)) }}
{%- endmacro %}

{% macro default__add_days(date_expression, days) -%}
    cast({{ dbt.dateadd('day', days, date_expression) }} as date)
{%- endmacro %}

{#- Spark: date_add itself (dbt's dateadd on Spark goes through unix seconds and raises on a
    NULL date). -#}
{% macro spark__add_days(date_expression, days) -%}
    date_add(cast({{ date_expression }} as date), cast({{ days }} as int))
{%- endmacro %}

{#- Select-list expression that turns each row into one row per date from `start_date` to
    `end_date` (both inclusive DATEs) in steps of one `step` ('day' or 'month'). Use it only in a
    select list: `select t.*, {{ date_series('a', 'b') }} as date from t`. Rows with
    end_date < start_date must be filtered out first (Spark's sequence() rejects them). It only
    generates the dates a row actually spans, so it never explodes rows beyond their real extent. -#}
{% macro date_series(start_date, end_date, step='day') -%}
    {{ return(adapter.dispatch('date_series', 'ev_warehouse')(start_date, end_date, step)) }}
{%- endmacro %}

{% macro default__date_series(start_date, end_date, step) -%}
    explode(sequence(cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 {{ step }}))
{%- endmacro %}

{% macro duckdb__date_series(start_date, end_date, step) -%}
    cast(unnest(generate_series(cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 {{ step }})) as date)
{%- endmacro %}
