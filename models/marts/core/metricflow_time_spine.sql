-- The day calendar MetricFlow joins to (its time spine): cumulative metrics (running revenue,
-- accumulated sessions) take a value on every day of it, and gap periods come from it. Every day
-- from 2000-01-01 (no plausible timestamp is earlier: DESIGN.md section 4) to the last day of the
-- as_of_date's month, so that a month's cumulative value covers the whole month, as in the marts.
-- Grain: one row per date_day.

with bounds as (

    select
        cast('2000-01-01' as date) as first_date,
        cast({{ dbt.last_day(as_of_date(), 'month') }} as date) as last_date

),

days as (

    select {{ date_series('first_date', 'last_date') }} as date_day
    from bounds

),

final as (

    select cast(date_day as date) as date_day
    from days

)

select * from final
