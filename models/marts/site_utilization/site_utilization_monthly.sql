-- Site utilization per local month, benchmarked: CP-days, kWh, occupied time (union per charge
-- point within active days), kWh/CP/day, % time utilised, and their tiers from the
-- utilization_benchmarks seed.
-- Grain: one row per site_id, month (first day), for every month with at least one CP-day.

with charge_point_daily as (

    select * from {{ ref('int_charge_point_daily') }}

),

charge_points as (

    select * from {{ ref('int_charge_points') }}

),

sites as (

    select * from {{ ref('stg_platform__sites') }}

),

benchmarks as (

    select * from {{ ref('utilization_benchmarks') }}

),

site_monthly as (

    {{ site_utilization_totals('charge_point_daily', 'charge_points', month_start('charge_point_daily.date')) }}

),

metrics as (

    select
        site_id,
        period as month,
        cp_days,
        available_hours,
        kwh,
        occupied_hours,
        sessions,
        {{ ratio('kwh', 'cp_days') }} as kwh_per_cp_day,
        {{ percentage('occupied_hours', 'available_hours') }} as time_utilised_pct
    from site_monthly

),

-- Every benchmark rule a site-month satisfies; the first by evaluation_order gives the tier.
matching_rules as (

    select
        metrics.site_id,
        metrics.month,
        benchmarks.metric,
        benchmarks.tier,
        row_number() over (
            partition by metrics.site_id, metrics.month, benchmarks.metric
            order by benchmarks.evaluation_order
        ) as rule_rank
    from metrics
    inner join benchmarks
        on {{ benchmark_condition(
            "case benchmarks.metric when 'kwh_per_cp_day' then metrics.kwh_per_cp_day when 'time_utilised_pct' then metrics.time_utilised_pct end",
            'benchmarks.comparison',
            'benchmarks.threshold'
        ) }}

),

tiers as (

    select
        site_id,
        month,
        max(case when metric = 'kwh_per_cp_day' then tier end) as kwh_tier,
        max(case when metric = 'time_utilised_pct' then tier end) as time_tier
    from matching_rules
    where rule_rank = 1
    group by site_id, month

),

final as (

    select
        metrics.site_id,
        metrics.month,
        sites.name as site_name,
        sites.operator_id,
        sites.team_id,
        cast(metrics.cp_days as bigint) as cp_days,
        cast(metrics.available_hours as double) as available_hours,
        cast(metrics.kwh as double) as kwh,
        cast(metrics.occupied_hours as double) as occupied_hours,
        cast(metrics.sessions as bigint) as sessions,
        metrics.kwh_per_cp_day,
        metrics.time_utilised_pct,
        tiers.kwh_tier,
        tiers.time_tier
    from metrics
    left join sites
        on metrics.site_id = sites.site_id
    left join tiers
        on metrics.site_id = tiers.site_id
            and metrics.month = tiers.month

)

select * from final
