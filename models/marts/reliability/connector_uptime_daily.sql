-- Uptime of every charging port (charge point connector 1..connector_count) per site-local day on
-- which its charge point was active, up to as_of_date (DESIGN.md section 5): period minutes = the
-- day's real length (1,380 or 1,500 on DST days); outage minutes = minutes Faulted or Unavailable
-- (a connectorId-0 outage counts on every port); excluded minutes = the part Unavailable with
-- errorCode NoError (operator maintenance); uptime % = (period - (outage - excluded)) / period x 100.
-- Days the charge point was not active are left out, with any outage on them, and so are the days
-- before the warehouse's first status message (site-local date): before it there is no status
-- data to measure uptime with (a port without messages of its own is Available from then on).
-- Site, operator, team, AC/DC and access are the charge point's current ones (dashboard filters).
-- Grain: one row per date, charge_point_id, connector_id.

with active_days as (

    select * from {{ ref('int_charge_point_active_days') }}
    where date <= {{ as_of_date() }}

),

charge_points as (

    select * from {{ ref('int_charge_points') }}

),

status_messages as (

    select coalesce(payload_timestamp, received_at) as status_at
    from {{ ref('stg_ocpp__messages') }}
    where action = 'StatusNotification'

),

status_coverage as (

    select min(status_at) as first_status_at
    from status_messages

),

-- the first local day with status data, per time zone
coverage_starts as (

    select
        time_zones.time_zone,
        {{ local_date('status_coverage.first_status_at', 'time_zones.time_zone') }} as first_date
    from (select distinct time_zone from charge_points) as time_zones
    cross join status_coverage
    where status_coverage.first_status_at is not null

),

ports as (

    select * from {{ ref('int_charging_ports') }}

),

downtime as (

    select * from {{ ref('int_connector_downtime_days') }}

),

port_days as (

    select
        active_days.date,
        ports.charge_point_id,
        ports.connector_id,
        active_days.day_hours * 60.0 as period_minutes,
        coalesce(downtime.outage_seconds, 0.0) / 60.0 as outage_minutes,
        coalesce(downtime.excluded_seconds, 0.0) / 60.0 as excluded_minutes
    from active_days
    inner join charge_points
        on active_days.charge_point_id = charge_points.charge_point_id
    inner join coverage_starts
        on charge_points.time_zone = coverage_starts.time_zone
            and active_days.date >= coverage_starts.first_date
    inner join ports
        on active_days.charge_point_id = ports.charge_point_id
    left join downtime
        on ports.charge_point_id = downtime.charge_point_id
            and ports.connector_id = downtime.connector_id
            and active_days.date = downtime.date

),

final as (

    select
        port_days.date,
        {{ month_start('port_days.date') }} as month,
        charge_points.operator_id,
        charge_points.team_id,
        charge_points.site_id,
        port_days.charge_point_id,
        port_days.connector_id,
        charge_points.charging_type,
        charge_points.access,
        cast(port_days.period_minutes as double) as period_minutes,
        cast(port_days.outage_minutes as double) as outage_minutes,
        cast(port_days.excluded_minutes as double) as excluded_minutes,
        {{ uptime_pct(
            'port_days.period_minutes', 'port_days.outage_minutes', 'port_days.excluded_minutes'
        ) }} as uptime_pct
    from port_days
    inner join charge_points
        on port_days.charge_point_id = charge_points.charge_point_id

)

select * from final
