with

team_totals as (

    select * from {{ ref('int_revenue_by_team') }}

),

teams as (

    select * from {{ ref('dim_teams') }}

),

operators as (

    select * from {{ ref('dim_operators') }}

),

final as (

    select
        team_totals.team_id,
        teams.team_name,
        team_totals.operator_id,
        operators.operator_name,
        operators.parent_operator_id,
        operators.parent_operator_name,
        team_totals.currency,
        team_totals.current_month,
        cast(team_totals.revenue_current_month as decimal(18, 4)) as revenue_current_month,
        cast(team_totals.total_revenue as decimal(18, 4)) as total_revenue,
        cast(team_totals.revenue_current_month_eur as decimal(18, 4)) as revenue_current_month_eur,
        cast(team_totals.total_revenue_eur as decimal(18, 4)) as total_revenue_eur,
        cast(team_totals.entry_count as bigint) as entry_count,
        team_totals.first_revenue_month,
        team_totals.last_revenue_month
    from team_totals
    left join teams
        on team_totals.team_id = teams.team_id
    left join operators
        on team_totals.operator_id = operators.operator_id

)

select * from final
