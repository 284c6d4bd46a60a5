{#- Building blocks of the Reliability and operations metrics (DESIGN.md section 5, "Beyond the
    seven dashboards"), each defined here once. -#}

{#- A connector status that is an outage: Faulted or Unavailable. -#}
{% macro is_outage_status(status) -%}
    ({{ status }} in ('Faulted', 'Unavailable'))
{%- endmacro %}

{#- The part of outage time excluded from uptime: Unavailable with errorCode NoError (set by the
    operator: scheduled maintenance). -#}
{% macro is_excluded_outage(status, error_code) -%}
    ({{ status }} = 'Unavailable' and {{ error_code }} = 'NoError')
{%- endmacro %}

{#- uptime % = (period minutes - (outage - excluded)) / period minutes x 100 (23 CFR 680.116(b)),
    as DOUBLE; NULL when the period is empty. -#}
{% macro uptime_pct(period_minutes, outage_minutes, excluded_minutes) -%}
    {{ percentage('(' ~ period_minutes ~ ' - (' ~ outage_minutes ~ ' - ' ~ excluded_minutes ~ '))', period_minutes) }}
{%- endmacro %}

{#- Idle seconds of a finished session: unplugged_at - charging_ended_at, 0 when charging_ended_at
    is empty or later (plugged in, not charging, blocking the connector). -#}
{% macro idle_seconds(charging_ended_at, unplugged_at) -%}
    case
        when {{ charging_ended_at }} is not null and {{ unplugged_at }} > {{ charging_ended_at }}
            then {{ seconds_between(charging_ended_at, unplugged_at) }}
        else 0.0
    end
{%- endmacro %}

{#- The latest non-NULL value of `expression` up to the current row, as a window function: append
    `over (partition by ... order by ... rows between unbounded preceding and current row)`.
    Dispatched: DuckDB last_value(... ignore nulls), Spark last(..., true). -#}
{% macro last_non_null(expression) -%}
    {{ return(adapter.dispatch('last_non_null', 'ev_warehouse')(expression)) }}
{%- endmacro %}

{% macro default__last_non_null(expression) -%}
    last({{ expression }}, true)
{%- endmacro %}

{% macro duckdb__last_non_null(expression) -%}
    last_value({{ expression }} ignore nulls)
{%- endmacro %}

{#- Select-list expression that turns each row into one row per integer from `first` to `last`
    (both inclusive). Rows with last < first must be filtered out first. Dispatched like
    date_series: DuckDB unnest(range()), Spark explode(sequence()). -#}
{% macro integer_series(first, last) -%}
    {{ return(adapter.dispatch('integer_series', 'ev_warehouse')(first, last)) }}
{%- endmacro %}

{% macro default__integer_series(first, last) -%}
    explode(sequence(cast({{ first }} as int), cast({{ last }} as int)))
{%- endmacro %}

{% macro duckdb__integer_series(first, last) -%}
    cast(unnest(range(cast({{ first }} as bigint), cast({{ last }} as bigint) + 1)) as integer)
{%- endmacro %}

{#- The start of the 15-minute slot (aligned to :00/:15/:30/:45 UTC) holding a UTC TIMESTAMP. Every
    IANA time zone's offset is a whole number of quarter hours, so these are also the slots of the
    local clock. Dispatched: DuckDB time_bucket, Spark from epoch seconds (session time zone UTC). -#}
{% macro quarter_hour_start(utc_timestamp) -%}
    {{ return(adapter.dispatch('quarter_hour_start', 'ev_warehouse')(utc_timestamp)) }}
{%- endmacro %}

{% macro default__quarter_hour_start(utc_timestamp) -%}
    timestamp_seconds(cast(floor(unix_seconds({{ utc_timestamp }}) / 900) * 900 as bigint))
{%- endmacro %}

{% macro duckdb__quarter_hour_start(utc_timestamp) -%}
    time_bucket(interval 15 minute, {{ utc_timestamp }})
{%- endmacro %}

{#- Idle minutes per finished session: Σ idle hours x 60 / Σ finished sessions (DOUBLE, NULL
    without sessions). -#}
{% macro idle_minutes_per_session(idle_hours, sessions) -%}
    {{ ratio('60.0 * (' ~ idle_hours ~ ')', sessions) }}
{%- endmacro %}

{#- The uptime limits of the regulations (DESIGN.md section 5), defined here once: the marts'
    meets_nevi_97 / meets_uk_99 flags and the dashboards' threshold lines (published as
    marts.nevi_uptime_limit_pct() / marts.uk_rapid_uptime_limit_pct()) read them. NEVI (23 CFR
    680.116(b)): every charging port > 97 % over the trailing 365 days. UK Public Charge Point
    Regulations 2023: the rapid network's average >= 99 % per calendar year. -#}
{% macro nevi_uptime_limit_pct() -%}
    97.0
{%- endmacro %}

{% macro uk_rapid_uptime_limit_pct() -%}
    99.0
{%- endmacro %}
