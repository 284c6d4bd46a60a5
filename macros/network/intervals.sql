{#- Interval arithmetic on UTC TIMESTAMPs. -#}

{#- Exact seconds from `start_timestamp` to `end_timestamp` as DOUBLE (sub-second precision where
    the engine has it). -#}
{% macro seconds_between(start_timestamp, end_timestamp) -%}
    {{ return(adapter.dispatch('seconds_between', 'ev_warehouse')(start_timestamp, end_timestamp)) }}
{%- endmacro %}

{% macro default__seconds_between(start_timestamp, end_timestamp) -%}
    cast({{ dbt.datediff(start_timestamp, end_timestamp, 'second') }} as double)
{%- endmacro %}

{% macro duckdb__seconds_between(start_timestamp, end_timestamp) -%}
    ((epoch_us({{ end_timestamp }}) - epoch_us({{ start_timestamp }})) / 1000000.0)
{%- endmacro %}

{#- Spark: microseconds since the epoch, as DuckDB (dbt's datediff on Spark counts whole seconds
    and raises on NULL). The difference is made DOUBLE before dividing, as on DuckDB. -#}
{% macro spark__seconds_between(start_timestamp, end_timestamp) -%}
    (cast(unix_micros({{ end_timestamp }}) - unix_micros({{ start_timestamp }}) as double) / 1000000)
{%- endmacro %}

{#- Hours from `start_timestamp` to `end_timestamp` as DOUBLE. -#}
{% macro hours_between(start_timestamp, end_timestamp) -%}
    ({{ seconds_between(start_timestamp, end_timestamp) }} / 3600.0)
{%- endmacro %}

{#- Seconds of overlap (>= 0) of the half-open intervals [start_at, end_at) and
    [window_start, window_end). -#}
{% macro overlap_seconds(start_at, end_at, window_start, window_end) -%}
    greatest(
        {{ seconds_between('greatest(' ~ start_at ~ ', ' ~ window_start ~ ')', 'least(' ~ end_at ~ ', ' ~ window_end ~ ')') }},
        0.0
    )
{%- endmacro %}
