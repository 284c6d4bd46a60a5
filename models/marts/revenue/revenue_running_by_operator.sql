with

operator_months as (

    select * from {{ ref('int_revenue_by_operator_month') }}

),

operators as (

    select * from {{ ref('dim_operators') }}

),

running as (

    {{ monthly_running_totals(
        'operator_months',
        key_columns=['operator_id', 'currency'],
        measure_columns=['revenue', 'revenue_eur'],
        running_columns={'revenue': 'running_revenue', 'revenue_eur': 'running_revenue_eur'}
    ) }}

),

final as (

    select
        running.month,
        cast(extract(year from running.month) as bigint) as year,
        running.operator_id,
        operators.operator_name,
        operators.parent_operator_id,
        operators.parent_operator_name,
        running.currency,
        cast(running.revenue as decimal(18, 4)) as revenue,
        cast(running.running_revenue as decimal(18, 4)) as running_revenue,
        cast(running.revenue_eur as decimal(18, 4)) as revenue_eur,
        cast(running.running_revenue_eur as decimal(18, 4)) as running_revenue_eur
    from running
    left join operators
        on running.operator_id = operators.operator_id

)

select * from final
