with

teams as (

    select * from {{ ref('dim_teams') }}

),

operators as (

    select * from {{ ref('dim_operators') }}

),

team_totals as (

    select * from {{ ref('int_revenue_by_team') }}

),

teams_with_revenue as (

    select distinct team_id from team_totals

),

revenue_rows as (

    select
        team_id,
        operator_id,
        currency,
        revenue_current_month,
        revenue_current_month_eur,
        total_revenue,
        total_revenue_eur,
        true as has_revenue
    from team_totals

),

no_revenue_rows as (

    -- a registered team without any ledger entry: one row of zeros in its operator's currency
    select
        teams.team_id,
        teams.operator_id,
        operators.currency,
        0 as revenue_current_month,
        0 as revenue_current_month_eur,
        0 as total_revenue,
        0 as total_revenue_eur,
        false as has_revenue
    from teams
    inner join operators
        on teams.operator_id = operators.operator_id
    left join teams_with_revenue
        on teams.team_id = teams_with_revenue.team_id
    where teams_with_revenue.team_id is null

),

unioned as (

    select * from revenue_rows
    union all
    select * from no_revenue_rows

),

final as (

    select
        unioned.team_id,
        teams.team_name,
        unioned.operator_id,
        operators.operator_name,
        operators.parent_operator_id,
        operators.parent_operator_name,
        unioned.currency,
        {{ as_of_month_start() }} as current_month,
        cast(unioned.revenue_current_month as decimal(18, 4)) as revenue_current_month,
        cast(unioned.revenue_current_month_eur as decimal(18, 4)) as revenue_current_month_eur,
        cast(unioned.total_revenue as decimal(18, 4)) as total_revenue,
        cast(unioned.total_revenue_eur as decimal(18, 4)) as total_revenue_eur,
        unioned.has_revenue
    from unioned
    left join teams
        on unioned.team_id = teams.team_id
    left join operators
        on unioned.operator_id = operators.operator_id

)

select * from final
