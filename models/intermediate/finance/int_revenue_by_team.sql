with

team_months as (

    select * from {{ ref('int_revenue_by_team_month') }}

),

current_month as (

    select {{ as_of_month_start() }} as current_month

),

team_totals as (

    select
        team_months.team_id,
        team_months.operator_id,
        team_months.currency,
        current_month.current_month,
        sum(case when team_months.month = current_month.current_month then team_months.total_revenue else 0 end)
            as revenue_current_month,
        sum(case when team_months.month = current_month.current_month then team_months.total_revenue_eur else 0 end)
            as revenue_current_month_eur,
        sum(team_months.total_revenue) as total_revenue,
        sum(team_months.total_revenue_eur) as total_revenue_eur,
        sum(team_months.entry_count) as entry_count,
        min(team_months.month) as first_revenue_month,
        max(team_months.month) as last_revenue_month
    from team_months
    cross join current_month
    group by
        team_months.team_id,
        team_months.operator_id,
        team_months.currency,
        current_month.current_month

)

select * from team_totals
