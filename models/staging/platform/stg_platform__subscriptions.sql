with source as (

    select * from {{ source('platform', 'subscriptions') }}

),

renamed as (

    select
        subscription_id,
        plan_id,
        team_id,
        started_at,
        ended_at,
        updated_at
    from source

),

current_version as (

    {{ latest_version(
        'renamed',
        key=['subscription_id'],
        columns=[
            'subscription_id', 'plan_id', 'team_id', 'started_at', 'ended_at', 'updated_at'
        ]
    ) }}

)

select * from current_version
