with

ledger_entries as (

    select * from {{ ref('int_ledger_entries') }}

),

operators as (

    select * from {{ ref('dim_operators') }}

),

teams as (

    select * from {{ ref('dim_teams') }}

),

plans as (

    select * from {{ ref('dim_plans') }}

),

monthly as (

    select
        booked_month as month,
        operator_id,
        team_id,
        plan_id,
        kind,
        currency,
        sum(amount) as revenue,
        sum(revenue_eur) as revenue_eur,
        count(*) as entry_count
    from ledger_entries
    group by
        booked_month,
        operator_id,
        team_id,
        plan_id,
        kind,
        currency

),

final as (

    select
        monthly.month,
        cast(extract(year from monthly.month) as bigint) as year,
        monthly.operator_id,
        operators.operator_name,
        operators.parent_operator_id,
        operators.parent_operator_name,
        monthly.team_id,
        teams.team_name,
        monthly.plan_id,
        plans.plan_name,
        monthly.kind,
        monthly.currency,
        cast(monthly.revenue as decimal(18, 4)) as revenue,
        cast(monthly.revenue_eur as decimal(18, 4)) as revenue_eur,
        cast(monthly.entry_count as bigint) as entry_count
    from monthly
    left join operators
        on monthly.operator_id = operators.operator_id
    left join teams
        on monthly.team_id = teams.team_id
    left join plans
        on monthly.plan_id = plans.plan_id

)

select * from final
