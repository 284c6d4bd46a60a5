with

plans as (

    select * from {{ ref('dim_plans') }}

),

plan_subscriptions as (

    select * from {{ ref('int_plan_subscriptions') }}

),

subscription_counts as (

    select
        plan_id,
        count(*) as subscriptions,
        sum(case when is_active_this_month then 1 else 0 end) as active_subscriptions_this_month
    from plan_subscriptions
    group by plan_id

),

plan_ids as (

    -- every plan of the registry, and any plan only known from subscriptions
    select plan_id from plans
    union
    select plan_id from subscription_counts

),

final as (

    select
        plan_ids.plan_id,
        plans.plan_name,
        plans.operator_id,
        plans.operator_name,
        plans.parent_operator_id,
        plans.parent_operator_name,
        plans.price,
        plans.currency,
        plans.billing_period,
        {{ as_of_month_start() }} as current_month,
        cast(coalesce(subscription_counts.subscriptions, 0) as bigint) as subscriptions,
        cast(coalesce(subscription_counts.active_subscriptions_this_month, 0) as bigint)
            as active_subscriptions_this_month
    from plan_ids
    left join plans
        on plan_ids.plan_id = plans.plan_id
    left join subscription_counts
        on plan_ids.plan_id = subscription_counts.plan_id

)

select * from final
