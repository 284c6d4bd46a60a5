{{ config(severity='warn') }}
-- Soft anomaly (reported, never blocks publishing): a site that delivered energy on each of the
-- 7 days before the as_of_date's day but none on that day — a site outage or a feed that stopped.
with daily as (

    select
        site_id,
        date,
        kwh
    from {{ ref('site_utilization_daily') }}
    where date between cast({{ dbt.dateadd('day', -7, as_of_date()) }} as date) and {{ as_of_date() }}

),

per_site as (

    select
        site_id,
        count(case when date < {{ as_of_date() }} and kwh > 0 then 1 end) as days_with_energy_before,
        sum(case when date = {{ as_of_date() }} then kwh end) as kwh_on_as_of_date
    from daily
    group by site_id

)

select
    site_id,
    days_with_energy_before,
    kwh_on_as_of_date
from per_site
where days_with_energy_before = 7 and coalesce(kwh_on_as_of_date, 0) = 0
