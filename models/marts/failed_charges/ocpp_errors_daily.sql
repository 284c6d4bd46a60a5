-- OCPP errors reported by charge points: StatusNotification messages whose errorCode is not
-- NoError, dated by the payload's timestamp when present, else by received_at, on the site's
-- local calendar. Messages from charge points missing from the registry are dated in UTC and
-- have no site.
-- Grain: one row per date, charge_point_id, error_code.
-- Incremental by local date and charge point (the `ocpp_dates` plan).
{{ config(
    materialized='incremental',
    incremental_strategy='replace_affected',
    meta={'incremental': {'plan': 'ocpp_dates', 'partition_by': 'date', 'charge_point_column': 'charge_point_id'}},
    post_hook="{{ record_incremental_state() }}"
) }}

{%- set plan = incremental_plan() %}
{{ incremental_plan_comment(plan) }}

with messages as (

    select * from {{ ref('stg_ocpp__messages') }}

),

charge_points as (

    select * from {{ ref('int_charge_points') }}

),

errors as (

    select
        messages.charge_point_id,
        messages.error_code,
        coalesce(messages.payload_timestamp, messages.received_at) as errored_at,
        coalesce(charge_points.time_zone, 'UTC') as time_zone
    from messages
    left join charge_points
        on messages.charge_point_id = charge_points.charge_point_id
    where messages.action = 'StatusNotification'
        and messages.error_code <> 'NoError'

),

{%- if plan.partial %}

errors_in_plan as (

    select * from errors
    where {{ incremental_date_filter(local_date('errored_at', 'time_zone'), plan, charge_point_column='charge_point_id') }}

),
{%- endif %}

daily as (

    select
        {{ local_date('errored_at', 'time_zone') }} as date,
        charge_point_id,
        error_code,
        count(*) as error_count
    from {{ 'errors_in_plan' if plan.partial else 'errors' }}
    group by {{ local_date('errored_at', 'time_zone') }}, charge_point_id, error_code

),

final as (

    select
        daily.date,
        {{ month_start('daily.date') }} as month,
        charge_points.operator_id,
        charge_points.team_id,
        charge_points.site_id,
        daily.charge_point_id,
        charge_points.charging_type,
        charge_points.access,
        daily.error_code,
        cast(daily.error_count as bigint) as error_count
    from daily
    left join charge_points
        on daily.charge_point_id = charge_points.charge_point_id

)

select * from final
