-- Failed sessions per local plug-in month, charge point segment and failure reason (an OCPP 1.6
-- ChargePointErrorCode or a platform reason; 'unknown' when missing): the error codes linked to
-- failures. Operator and team are the charge point's.
-- Grain: one row per month, operator_id, team_id, site_id, charging_type, access, failure_reason.

with sessions as (

    select * from {{ ref('int_sessions') }}

),

reasons as (

    select
        plugged_in_month as month,
        site_id,
        charging_type,
        access,
        operator_id,
        team_id,
        coalesce(failure_reason, 'unknown') as failure_reason,
        count(*) as failed_sessions
    from sessions
    where is_failed
        and site_id is not null
    group by
        plugged_in_month,
        operator_id,
        team_id,
        site_id,
        charging_type,
        access,
        coalesce(failure_reason, 'unknown')

),

final as (

    select
        month,
        operator_id,
        team_id,
        site_id,
        charging_type,
        access,
        failure_reason,
        cast(failed_sessions as bigint) as failed_sessions
    from reasons

)

select * from final
