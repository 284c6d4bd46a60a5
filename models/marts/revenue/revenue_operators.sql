with

operator_months as (

    select * from {{ ref('int_revenue_by_operator_month') }}

),

operators as (

    select * from {{ ref('dim_operators') }}

),

current_month as (

    select {{ as_of_month_start() }} as current_month

),

operator_totals as (

    select
        operator_months.operator_id,
        operator_months.currency,
        current_month.current_month,
        sum(case when operator_months.month = current_month.current_month then operator_months.revenue else 0 end)
            as revenue_current_month,
        sum(case when operator_months.month < current_month.current_month then operator_months.revenue else 0 end)
            as revenue_past_months,
        sum(operator_months.revenue) as total_revenue,
        sum(case when operator_months.month = current_month.current_month then operator_months.revenue_eur else 0 end)
            as revenue_current_month_eur,
        sum(case when operator_months.month < current_month.current_month then operator_months.revenue_eur else 0 end)
            as revenue_past_months_eur,
        sum(operator_months.revenue_eur) as total_revenue_eur,
        min(operator_months.month) as first_revenue_month,
        max(operator_months.month) as last_revenue_month
    from operator_months
    cross join current_month
    group by
        operator_months.operator_id,
        operator_months.currency,
        current_month.current_month

),

final as (

    select
        operator_totals.operator_id,
        operators.operator_name,
        operators.parent_operator_id,
        operators.parent_operator_name,
        operator_totals.currency,
        operator_totals.current_month,
        cast(operator_totals.revenue_current_month as decimal(18, 4)) as revenue_current_month,
        cast(operator_totals.revenue_past_months as decimal(18, 4)) as revenue_past_months,
        cast(operator_totals.total_revenue as decimal(18, 4)) as total_revenue,
        cast(operator_totals.revenue_current_month_eur as decimal(18, 4)) as revenue_current_month_eur,
        cast(operator_totals.revenue_past_months_eur as decimal(18, 4)) as revenue_past_months_eur,
        cast(operator_totals.total_revenue_eur as decimal(18, 4)) as total_revenue_eur,
        operator_totals.first_revenue_month,
        operator_totals.last_revenue_month
    from operator_totals
    left join operators
        on operator_totals.operator_id = operators.operator_id

)

select * from final
