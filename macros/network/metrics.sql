{#- Small metric building blocks of the network domain (DESIGN.md section 5), each defined here
    once and reused by the intermediate models and marts. -#}

{#- Active charge point on local day `day`: commissioned on or before it and not decommissioned
    on or before it (local dates of commissioned_at / decommissioned_at). -#}
{% macro is_active_on(commissioned_date, decommissioned_date, day) -%}
    (
        {{ commissioned_date }} <= {{ day }}
        and ({{ decommissioned_date }} is null or {{ decommissioned_date }} > {{ day }})
    )
{%- endmacro %}

{#- A finished session: completed or failed (in_progress counts in no metric). -#}
{% macro is_finished_state(state) -%}
    ({{ state }} in ('completed', 'failed'))
{%- endmacro %}

{#- numerator / denominator x 100 as DOUBLE, NULL when the denominator is 0 or NULL. Not rounded.
    Computed in DOUBLE from the start: a DECIMAL literal times an integer would be divided as
    DECIMAL on Spark (rounded to its result scale) but as DOUBLE on DuckDB. -#}
{% macro percentage(numerator, denominator) -%}
    case
        when {{ denominator }} > 0
            then cast(100.0 * cast({{ numerator }} as double) / {{ denominator }} as double)
    end
{%- endmacro %}

{#- numerator / denominator as DOUBLE, NULL when the denominator is 0 or NULL (DOUBLE division on
    every engine, as percentage). -#}
{% macro ratio(numerator, denominator) -%}
    case
        when {{ denominator }} > 0
            then cast(cast({{ numerator }} as double) / {{ denominator }} as double)
    end
{%- endmacro %}

{#- Sum of a DOUBLE expression whose result does not depend on the order rows are added in (a
    plain floating-point sum does, in its last bits: parallel aggregation and incremental
    rebuilds add the same values in different orders). Each value is rounded to 1e-15 and the
    values are added exactly as DECIMAL(38, 15); the total is returned as DOUBLE. Use for every
    DOUBLE measure summed into a table, so that a rebuild gives bit-identical values. -#}
{% macro exact_sum(expression) -%}
    cast(sum(cast({{ expression }} as decimal(38, 15))) as double)
{%- endmacro %}

{#- A site's utilization totals per period (DESIGN.md section 5), from int_charge_point_daily
    joined to the charge points: CP-days, available hours, split kWh, occupied hours within
    active days and finished sessions, for every site and period with at least one CP-day. The
    one roll-up behind site_utilization_daily (period = the date) and site_utilization_monthly
    (period = the month); kwh_per_cp_day and time_utilised_pct come from ratio() and percentage().
    Returns a select: site_id, period, cp_days, available_hours, kwh, occupied_hours, sessions. -#}
{% macro site_utilization_totals(charge_point_daily, charge_points, period) -%}
    select
        {{ charge_points }}.site_id,
        {{ period }} as period,
        sum({{ charge_point_daily }}.cp_days) as cp_days,
        {{ exact_sum(charge_point_daily ~ '.available_hours') }} as available_hours,
        {{ exact_sum(charge_point_daily ~ '.kwh') }} as kwh,
        {{ exact_sum(charge_point_daily ~ '.utilised_hours') }} as occupied_hours,
        sum({{ charge_point_daily }}.sessions) as sessions
    from {{ charge_point_daily }}
    inner join {{ charge_points }}
        on {{ charge_point_daily }}.charge_point_id = {{ charge_points }}.charge_point_id
    group by {{ charge_points }}.site_id, {{ period }}
    having sum({{ charge_point_daily }}.cp_days) > 0
{%- endmacro %}
