-- Occupied time of each charge point per local day, as the union of its finished sessions'
-- occupied intervals [plugged_in_at, unplugged_at): two connectors busy at once count once.
-- The union is built with one window pass (no self-join): sessions sorted by plug-in, each is cut
-- down to its part after the latest end of the earlier ones; those disjoint pieces are then split
-- across the local days they overlap.
-- Grain: one row per charge_point_id, date (only days with occupied time > 0).
-- Incremental by date: an incremental run rebuilds the local dates of run_plan.network_dates
-- (orchestration/plan.py). The union within a day only involves the sessions that touch that day,
-- so the pieces are built from the sessions touching the dates' span and only those dates kept.

{{ config(plan_incremental('network_dates')) }}

{%- set plan_dates = source('run_plan', 'network_dates') %}

with sessions as (

    select
        charge_point_id,
        time_zone,
        plugged_in_at,
        unplugged_at
    from {{ ref('int_sessions') }}
    where is_finished
        and unplugged_at > plugged_in_at
    {%- if is_incremental() %}
        -- the sessions that may touch a date to rebuild
        and plugged_in_date <= (select max(date) from {{ plan_dates }})
        and unplugged_date >= (select min(date) from {{ plan_dates }})
        {%- endif %}

),

-- only what the sort needs (the window sorts every interval with all its columns)
intervals as (

    select
        charge_point_id,
        plugged_in_at as start_at,
        unplugged_at as end_at
    from sessions

),

charge_point_time_zones as (

    select distinct
        charge_point_id,
        time_zone
    from sessions

),

local_days as (

    select * from {{ ref('int_local_days') }}
    {%- if is_incremental() %}
    where date in (select date from {{ plan_dates }})
    {%- endif %}

),

running_end as (

    -- the latest end of every earlier interval of the charge point (sorted by plug-in; the order
    -- of identical intervals does not matter: one of them keeps the time, the others none)
    select
        *,
        max(end_at) over (
            partition by charge_point_id
            order by start_at, end_at
            rows between unbounded preceding and 1 preceding
        ) as previous_max_end_at
    from intervals

),

uncovered as (

    -- each interval cut down to its part not covered by an earlier one: the pieces are disjoint
    -- and together are exactly the union of the intervals
    select
        running_end.charge_point_id,
        charge_point_time_zones.time_zone,
        case
            when running_end.previous_max_end_at is null or running_end.start_at > running_end.previous_max_end_at
                then running_end.start_at
            else running_end.previous_max_end_at
        end as start_at,
        running_end.end_at
    from running_end
    inner join charge_point_time_zones
        on running_end.charge_point_id = charge_point_time_zones.charge_point_id
    where running_end.previous_max_end_at is null
        or running_end.end_at > running_end.previous_max_end_at

),

pieces as (

    select
        *,
        {{ local_date('start_at', 'time_zone') }} as start_date,
        {{ local_date('end_at', 'time_zone') }} as end_date
    from uncovered

),

piece_days as (

    -- the local days each piece overlaps (one for almost every piece)
    select
        *,
        {{ date_series('start_date', 'end_date') }} as date
    from pieces

),

day_overlaps as (

    select
        piece_days.charge_point_id,
        piece_days.date,
        {{ overlap_seconds(
            'piece_days.start_at', 'piece_days.end_at', 'local_days.day_start_utc', 'local_days.day_end_utc'
        ) }} as overlap_seconds
    from piece_days
    -- (in an incremental run local_days holds only the dates to rebuild)
    inner join local_days
        on piece_days.time_zone = local_days.time_zone
            and piece_days.date = local_days.date

),

final as (

    select
        charge_point_id,
        date,
        {{ exact_sum('overlap_seconds') }} / 3600.0 as occupied_hours
    from day_overlaps
    group by charge_point_id, date
    having {{ exact_sum('overlap_seconds') }} > 0

)

select * from final
