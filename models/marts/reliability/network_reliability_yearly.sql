-- UK Public Charge Point Regulations 2023 reliability of each operator's rapid charge points per
-- calendar year (DESIGN.md section 5): rapid = DC with max_power_kw >= 50 (current registry); a
-- port's uptime over the year = (period - (outage - excluded)) / period x 100 over the year's
-- active days (site-local calendar, up to as_of_date); a charge point's uptime = the mean of its
-- ports'; the network's = the mean over its rapid charge points; meets_uk_99 when it is >= 99.
-- is_complete_year: the year is over on as_of_date and the status data covers it from 1 January
-- (the network's first uptime day of the year, any charge point, is 1 January).
-- Grain: one row per year, operator_id (operators with a rapid charge point active that year).

with port_days as (

    select * from {{ ref('connector_uptime_daily') }}

),

charge_points as (

    select * from {{ ref('int_charge_points') }}

),

rapid as (

    select
        charge_point_id,
        operator_id
    from charge_points
    where charging_type = 'DC'
        and max_power_kw >= 50

),

-- the first day of each year with uptime data, over the whole network
year_coverage as (

    select
        cast(extract(year from date) as integer) as year,
        min(date) as first_covered_date
    from port_days
    group by cast(extract(year from date) as integer)

),

port_years as (

    select
        cast(extract(year from port_days.date) as integer) as year,
        port_days.charge_point_id,
        port_days.connector_id,
        min(port_days.date) as first_date,
        max(port_days.date) as last_date,
        {{ exact_sum('port_days.period_minutes') }} as period_minutes,
        {{ exact_sum('port_days.outage_minutes') }} as outage_minutes,
        {{ exact_sum('port_days.excluded_minutes') }} as excluded_minutes
    from port_days
    inner join rapid
        on port_days.charge_point_id = rapid.charge_point_id
    group by cast(extract(year from port_days.date) as integer), port_days.charge_point_id, port_days.connector_id

),

charge_point_years as (

    select
        year,
        charge_point_id,
        min(first_date) as first_date,
        max(last_date) as last_date,
        {{ exact_sum(uptime_pct('period_minutes', 'outage_minutes', 'excluded_minutes')) }} / count(*) as uptime_pct
    from port_years
    group by year, charge_point_id

),

operator_years as (

    select
        charge_point_years.year,
        rapid.operator_id,
        count(*) as rapid_charge_points,
        {{ exact_sum('charge_point_years.uptime_pct') }} / count(*) as average_uptime_pct,
        min(charge_point_years.uptime_pct) as lowest_uptime_pct,
        sum(
            case when charge_point_years.uptime_pct < {{ uk_rapid_uptime_limit_pct() }} then 1 else 0 end
        ) as charge_points_below_99,
        min(charge_point_years.first_date) as first_date,
        max(charge_point_years.last_date) as last_date
    from charge_point_years
    inner join rapid
        on charge_point_years.charge_point_id = rapid.charge_point_id
    group by charge_point_years.year, rapid.operator_id

),

final as (

    select
        operator_years.year,
        operator_years.operator_id,
        cast(operator_years.rapid_charge_points as bigint) as rapid_charge_points,
        cast(operator_years.average_uptime_pct as double) as average_uptime_pct,
        operator_years.average_uptime_pct >= {{ uk_rapid_uptime_limit_pct() }} as meets_uk_99,
        cast(operator_years.lowest_uptime_pct as double) as lowest_uptime_pct,
        cast(operator_years.charge_points_below_99 as bigint) as charge_points_below_99,
        operator_years.first_date,
        operator_years.last_date,
        -- over when the day after as_of_date is in a later year; covered when its data starts on 1 January
        cast(extract(year from {{ add_days(as_of_date(), 1) }}) as integer) > operator_years.year
        and extract(month from year_coverage.first_covered_date) = 1
        and extract(day from year_coverage.first_covered_date) = 1 as is_complete_year
    from operator_years
    inner join year_coverage
        on operator_years.year = year_coverage.year

)

select * from final
