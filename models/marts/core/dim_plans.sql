with

plans as (

    select * from {{ ref('stg_platform__plans') }}

),

operators as (

    select * from {{ ref('dim_operators') }}

),

final as (

    select
        plans.plan_id,
        plans.name as plan_name,
        plans.operator_id,
        operators.operator_name,
        operators.parent_operator_id,
        operators.parent_operator_name,
        cast(plans.price as decimal(18, 4)) as price,
        plans.currency,
        plans.billing_period,
        plans.updated_at
    from plans
    left join operators
        on plans.operator_id = operators.operator_id

)

select * from final
