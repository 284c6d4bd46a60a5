{{ config(severity='warn') }}
-- Soft anomaly (reported, never blocks publishing): a site whose share of failed sessions in the
-- as_of_date's month is at least 20 points above its average of the three months before, with
-- at least 20 finished sessions in the month. Usually a firmware roll-out or a broken charger.
with monthly as (

    select
        site_id,
        {{ dbt.date_trunc('month', 'date') }} as month,
        sum(total_sessions) as total_sessions,
        sum(failed_sessions) as failed_sessions
    from {{ ref('failed_charges_daily') }}
    group by 1, 2

),

rates as (

    select
        site_id,
        cast(month as date) as month,
        total_sessions,
        100.0 * failed_sessions / nullif(total_sessions, 0) as failed_pct
    from monthly

),

current_month as (

    select * from rates
    where month = cast({{ dbt.date_trunc('month', as_of_date()) }} as date)
        and total_sessions >= 20

),

baseline as (

    select
        r.site_id,
        avg(r.failed_pct) as baseline_pct
    from rates as r
    inner join current_month as c
        on r.site_id = c.site_id
            and r.month >= cast({{ dbt.dateadd('month', -3, 'c.month') }} as date)
            and r.month < c.month
    group by 1

)

select
    c.site_id,
    c.month,
    c.total_sessions,
    c.failed_pct,
    b.baseline_pct
from current_month as c
inner join baseline as b on c.site_id = b.site_id
where c.failed_pct >= b.baseline_pct + 20
