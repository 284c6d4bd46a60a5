{#- Time-zone conversion of naive UTC timestamps (the warehouse stores UTC as TIMESTAMP without
    zone) to and from a site's local wall-clock time (IANA name, DST-correct). Engine-specific,
    so dispatched: `duckdb__` uses the ICU `timezone()` function, `default__` is Spark SQL. -#}

{#- UTC TIMESTAMP -> local wall-clock TIMESTAMP in time zone `tz` (an IANA name column or literal). -#}
{% macro to_local_timestamp(utc_timestamp, tz) -%}
    {{ return(adapter.dispatch('to_local_timestamp', 'ev_warehouse')(utc_timestamp, tz)) }}
{%- endmacro %}

{% macro default__to_local_timestamp(utc_timestamp, tz) -%}
    from_utc_timestamp({{ utc_timestamp }}, {{ tz }})
{%- endmacro %}

{% macro duckdb__to_local_timestamp(utc_timestamp, tz) -%}
    timezone({{ tz }}, timezone('UTC', {{ utc_timestamp }}))
{%- endmacro %}

{#- Local wall-clock TIMESTAMP in `tz` -> UTC TIMESTAMP. A local time skipped by a DST jump (e.g.
    a midnight that does not exist) maps to the instant the clocks jumped to. -#}
{% macro local_to_utc_timestamp(local_timestamp, tz) -%}
    {{ return(adapter.dispatch('local_to_utc_timestamp', 'ev_warehouse')(local_timestamp, tz)) }}
{%- endmacro %}

{% macro default__local_to_utc_timestamp(local_timestamp, tz) -%}
    to_utc_timestamp({{ local_timestamp }}, {{ tz }})
{%- endmacro %}

{% macro duckdb__local_to_utc_timestamp(local_timestamp, tz) -%}
    timezone('UTC', timezone({{ tz }}, {{ local_timestamp }}))
{%- endmacro %}

{#- The local calendar date of a UTC timestamp in time zone `tz` (portable: built on the above). -#}
{% macro local_date(utc_timestamp, tz) -%}
    cast({{ to_local_timestamp(utc_timestamp, tz) }} as date)
{%- endmacro %}
