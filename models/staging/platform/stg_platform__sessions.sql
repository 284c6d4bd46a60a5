with source as (

    select * from {{ source('platform', 'sessions') }}

),

renamed as (

    select
        session_id,
        charge_point_id,
        connector_id,
        paying_team_id,
        state,
        plugged_in_at,
        charging_started_at,
        charging_ended_at,
        unplugged_at,
        failed_at,
        failure_reason,
        stop_reason,
        kwh,
        price_excl_vat,
        price_incl_vat,
        currency,
        is_roaming,
        updated_at
    from source

),

current_version as (

    {{ latest_version('renamed', key=['session_id'], columns=['session_id', 'charge_point_id', 'connector_id', 'paying_team_id', 'state', 'plugged_in_at', 'charging_started_at', 'charging_ended_at', 'unplugged_at', 'failed_at', 'failure_reason', 'stop_reason', 'kwh', 'price_excl_vat', 'price_incl_vat', 'currency', 'is_roaming', 'updated_at']) }}

)

select * from current_version
