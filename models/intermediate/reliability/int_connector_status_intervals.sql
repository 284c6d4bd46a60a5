-- Outage intervals of every charging port, from OCPP 1.6 StatusNotification messages (DESIGN.md
-- section 5, "Connector status timeline"): a port holds the status of its latest message at or
-- before a moment, dated by the payload's timestamp, else received_at (a message that arrives late
-- takes its place in the timeline by its payload timestamp); before its first message it is
-- Available. A message for connectorId 0 is the whole charge point: while the charge point is
-- Faulted or Unavailable, every port has that status (and its error code); once it is anything
-- else, each port has its own status again. Messages of charge points missing from the registry,
-- and for connectors beyond connector_count, are left out.
-- One window pass: each port's own messages and its charge point's connectorId-0 messages in one
-- ordered stream (ties by received_at, then message_id); the latest own and the latest
-- charge-point status (with its error code) are carried forward, and each event's status holds
-- until the next event. Only outage intervals are kept (Faulted, Unavailable);
-- consecutive ones are not merged.
-- Grain: one row per charge_point_id, connector_id, started_at.

with messages as (

    select
        charge_point_id,
        connector_id,
        status,
        error_code,
        coalesce(payload_timestamp, received_at) as status_at,
        received_at,
        message_id,
        -- status and error code travel together through the window ('|' is in neither: both are
        -- OCPP 1.6 enumerations, checked on load)
        {{ dbt.concat(['status', "'|'", "coalesce(error_code, '')"]) }} as status_code
    from {{ ref('stg_ocpp__messages') }}
    where action = 'StatusNotification'
        and connector_id is not null
        and status is not null

),

ports as (

    select * from {{ ref('int_charging_ports') }}

),

events as (

    -- each port's own messages, and its charge point's connectorId-0 messages once for each port
    select
        ports.charge_point_id,
        ports.connector_id,
        messages.status_at,
        messages.received_at,
        messages.message_id,
        case when messages.connector_id = 0 then null else messages.status_code end as own_status_code,
        case when messages.connector_id = 0 then messages.status_code end as charge_point_status_code
    from messages
    inner join ports
        on messages.charge_point_id = ports.charge_point_id
            and (messages.connector_id = ports.connector_id or messages.connector_id = 0)

),

timeline as (

    select
        charge_point_id,
        connector_id,
        status_at as started_at,
        lead(status_at) over (
            partition by charge_point_id, connector_id
            order by status_at, received_at, message_id
        ) as ended_at,
        {{ last_non_null('own_status_code') }} over (
            partition by charge_point_id, connector_id
            order by status_at, received_at, message_id
            rows between unbounded preceding and current row
        ) as own_status_code,
        {{ last_non_null('charge_point_status_code') }} over (
            partition by charge_point_id, connector_id
            order by status_at, received_at, message_id
            rows between unbounded preceding and current row
        ) as charge_point_status_code
    from events

),

split as (

    select
        charge_point_id,
        connector_id,
        started_at,
        ended_at,
        {{ dbt.split_part('own_status_code', "'|'", 1) }} as own_status,
        {{ dbt.split_part('own_status_code', "'|'", 2) }} as own_error_code,
        {{ dbt.split_part('charge_point_status_code', "'|'", 1) }} as charge_point_status,
        {{ dbt.split_part('charge_point_status_code', "'|'", 2) }} as charge_point_error_code
    from timeline

),

statuses as (

    select
        charge_point_id,
        connector_id,
        started_at,
        ended_at,
        case
            when {{ is_outage_status('charge_point_status') }} then charge_point_status
            else coalesce(own_status, 'Available')
        end as status,
        case
            when {{ is_outage_status('charge_point_status') }} then nullif(charge_point_error_code, '')
            else nullif(own_error_code, '')
        end as error_code,
        coalesce({{ is_outage_status('charge_point_status') }}, false) as is_charge_point_wide
    from split

),

final as (

    select
        charge_point_id,
        connector_id,
        started_at,
        ended_at,
        status,
        error_code,
        {{ is_excluded_outage('status', 'error_code') }} as is_excluded,
        is_charge_point_wide
    from statuses
    where {{ is_outage_status('status') }}
        -- of several messages at one instant, the last one's status holds
        and (ended_at is null or ended_at > started_at)

)

select * from final
