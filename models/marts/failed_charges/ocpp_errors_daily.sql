-- OCPP errors reported by charge points: StatusNotification messages whose errorCode is not
-- NoError, dated by the payload's timestamp when present, else by received_at, on the site's
-- local calendar. Messages from charge points missing from the registry are dated in UTC and
-- have no site.
-- Grain: one row per date, charge_point_id, error_code.
-- Incremental by date: an incremental run rebuilds the local dates of run_plan.ocpp_dates
-- (orchestration/plan.py) and replaces them (delete+insert keyed on date on DuckDB,
-- insert_overwrite of date partitions on Spark).
{{ config(plan_incremental('ocpp_dates')) }}

{%- set plan_dates = source('run_plan', 'ocpp_dates') %}

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
    {%- if is_incremental() %}
        -- the messages that may fall on a date to rebuild (a local date is within a day of UTC's)
        and cast(coalesce(messages.payload_timestamp, messages.received_at) as date)
            between {{ add_days('(select min(date) from ' ~ plan_dates ~ ')', -1) }}
            and {{ add_days('(select max(date) from ' ~ plan_dates ~ ')', 1) }}
        {%- endif %}

),

daily as (

    select
        {{ local_date('errored_at', 'time_zone') }} as date,
        charge_point_id,
        error_code,
        count(*) as error_count
    from errors
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
    {%- if is_incremental() %}
    where daily.date in (select date from {{ plan_dates }})
    {%- endif %}

)

select * from final
