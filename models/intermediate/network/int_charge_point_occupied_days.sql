-- Occupied time of each charge point per local day, as the union of its finished sessions'
-- occupied intervals [plugged_in_at, unplugged_at): two connectors busy at once count once.
-- The union is built with window functions (gaps and islands, no self-join): sessions sorted by
-- plug-in; a session starts a new island when it begins after every earlier session has ended.
-- Islands are then split across the local days they overlap.
-- Grain: one row per charge_point_id, date (only days with occupied time > 0).
-- Incremental by date and charge point: a run replaces the affected local dates and charge points
-- (see the `network_dates` plan). The union within a day only involves the sessions that touch
-- that day, so islands are built from those sessions alone and only affected days are kept.

{{ config(
    materialized='incremental',
    incremental_strategy='replace_affected',
    meta={'incremental': {'plan': 'network_dates', 'partition_by': 'date', 'charge_point_column': 'charge_point_id'}},
    post_hook="{{ record_incremental_state() }}"
) }}

{%- set plan = incremental_plan() %}
{{ incremental_plan_comment(plan) }}

with intervals as (

    select
        session_id,
        charge_point_id,
        time_zone,
        plugged_in_at as start_at,
        unplugged_at as end_at
    from {{ ref('int_sessions') }}
    where is_finished
        and unplugged_at > plugged_in_at
        and {{ incremental_overlap_filter('plugged_in_date', 'unplugged_date', plan, charge_point_column='charge_point_id') }}

),

local_days as (

    select * from {{ ref('int_local_days') }}
    where {{ incremental_calendar_filter('date', plan) }}

),

running_end as (

    select
        *,
        max(end_at) over (
            partition by charge_point_id
            order by start_at, end_at, session_id
            rows between unbounded preceding and 1 preceding
        ) as previous_max_end_at
    from intervals

),

island_starts as (

    select
        *,
        case
            when previous_max_end_at is null or start_at > previous_max_end_at then 1
            else 0
        end as starts_island
    from running_end

),

island_numbers as (

    select
        *,
        sum(starts_island) over (
            partition by charge_point_id
            order by start_at, end_at, session_id
            rows between unbounded preceding and current row
        ) as island_number
    from island_starts

),

islands as (

    select
        charge_point_id,
        time_zone,
        island_number,
        min(start_at) as start_at,
        max(end_at) as end_at
    from island_numbers
    group by charge_point_id, time_zone, island_number

),

island_days as (

    select
        *,
        {{ date_series(local_date('start_at', 'time_zone'), local_date('end_at', 'time_zone')) }} as date
    from islands

),

island_day_overlaps as (

    select
        island_days.charge_point_id,
        island_days.date,
        {{ overlap_seconds('island_days.start_at', 'island_days.end_at', 'local_days.day_start_utc', 'local_days.day_end_utc') }} as overlap_seconds
    from island_days
    inner join local_days
        on island_days.time_zone = local_days.time_zone
        and island_days.date = local_days.date
    where {{ incremental_date_filter('island_days.date', plan, charge_point_column='island_days.charge_point_id') }}

),

final as (

    select
        charge_point_id,
        date,
        {{ exact_sum('overlap_seconds') }} / 3600.0 as occupied_hours
    from island_day_overlaps
    group by charge_point_id, date
    having {{ exact_sum('overlap_seconds') }} > 0

)

select * from final
