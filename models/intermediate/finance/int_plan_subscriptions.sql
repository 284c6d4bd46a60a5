with

subscriptions as (

    select * from {{ ref('stg_platform__subscriptions') }}

),

current_month as (

    select
        cast({{ as_of_month_start() }} as timestamp) as month_start,
        cast({{ dbt.dateadd('month', 1, as_of_month_start()) }} as timestamp) as next_month_start

),

flagged as (

    select
        subscriptions.subscription_id,
        subscriptions.plan_id,
        subscriptions.team_id,
        subscriptions.started_at,
        subscriptions.ended_at,
        -- running at some moment of the as_of month: [started_at, ended_at) overlaps
        -- [month_start, next_month_start); an empty subscription (ended_at = started_at) never runs
        (
            subscriptions.started_at < current_month.next_month_start
            and (
                subscriptions.ended_at is null
                or (
                    subscriptions.ended_at > current_month.month_start
                    and subscriptions.ended_at > subscriptions.started_at
                )
            )
        ) as is_active_this_month
    from subscriptions
    cross join current_month

)

select * from flagged
