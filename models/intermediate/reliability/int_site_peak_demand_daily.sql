-- Peak demand of every site per site-local day (DESIGN.md section 5, "Power"): a completed
-- session's kWh is spread evenly over its charging interval [charging_started_at,
-- charging_ended_at) (the occupied interval when either is empty); the site's demand in a 15-minute
-- slot of the local clock = the kWh falling in the slot x 4 (kW); the peak is the highest slot, and
-- peak_slot_start the earliest slot of that height (local wall-clock TIMESTAMP; on the night clocks
-- go back the repeated hour's slots are distinct slots with the same local start).
-- Without expanding sessions into slots: each session (cut at local midnights first) adds its power
-- to the slots it covers fully, and its share (power x the part of the 15 minutes it charges) to
-- the slots it starts and ends in. Per site and day, the events (first / last slot share, power on
-- at the first full slot, power off at the last) are summed per slot, the power level is their
-- running sum, and a slot's demand = level + its edge shares. Between events the level is constant
-- and no edge share falls, so the earliest highest slot is always an event slot. A slot a session
-- fills as its first or last one counts exactly its power, as a full slot does (ties stay ties).
-- Amounts are DECIMAL(18, 9) (1e-9 kW): the running sums are exact and a power goes back to zero.
-- A session whose charging interval is empty (both ends at one instant) puts all its kWh in the
-- slot of that instant.
-- Grain: one row per site_id, date (days with charging).

with sessions as (

    select
        site_id,
        time_zone,
        plugged_in_date,
        unplugged_date,
        kwh,
        case
            when charging_started_at is not null and charging_ended_at is not null
                then charging_started_at
            else plugged_in_at
        end as start_at,
        case
            when charging_started_at is not null and charging_ended_at is not null
                then charging_ended_at
            else unplugged_at
        end as end_at
    from {{ ref('int_sessions') }}
    where is_completed
        and site_id is not null
        and kwh > 0

),

intervals as (

    select
        *,
        {{ seconds_between('start_at', 'end_at') }} as interval_seconds,
        -- the session's (constant) power; none for an interval of zero length
        case
            when end_at > start_at then kwh * 3600.0 / {{ seconds_between('start_at', 'end_at') }}
        end as power_kw
    from sessions
    where end_at >= start_at

),

local_days as (

    select * from {{ ref('int_local_days') }}

),

plug_in_days as (

    -- the local day of plug-in (known from int_sessions: no time-zone conversion per session)
    select
        intervals.*,
        local_days.day_start_utc,
        local_days.day_end_utc
    from intervals
    inner join local_days
        on intervals.time_zone = local_days.time_zone
            and intervals.plugged_in_date = local_days.date

),

single_day as (

    -- almost every charging interval lies within the local day of its plug-in
    select
        site_id,
        plugged_in_date as date,
        start_at,
        end_at,
        kwh,
        power_kw,
        false as runs_past_day_end
    from plug_in_days
    where start_at >= day_start_utc
        and (end_at < day_end_utc or (end_at = day_end_utc and interval_seconds > 0))

),

interval_days as (

    -- the others (within the occupied interval, so within its local dates)
    select
        *,
        {{ date_series(
            'plugged_in_date', 'coalesce(unplugged_date, ' ~ local_date('end_at', 'time_zone') ~ ')'
        ) }} as date
    from plug_in_days
    where not (
            start_at >= day_start_utc
            and (end_at < day_end_utc or (end_at = day_end_utc and interval_seconds > 0))
        )

),

split as (

    -- are cut at local midnights (real day bounds)
    select
        interval_days.site_id,
        interval_days.date,
        case
            when interval_days.start_at > local_days.day_start_utc then interval_days.start_at
            else local_days.day_start_utc
        end as start_at,
        case
            when interval_days.end_at < local_days.day_end_utc then interval_days.end_at
            else local_days.day_end_utc
        end as end_at,
        case
            when interval_days.interval_seconds > 0
                then interval_days.kwh * {{ overlap_seconds(
                    'interval_days.start_at', 'interval_days.end_at', 'local_days.day_start_utc', 'local_days.day_end_utc'
                ) }}
                    / interval_days.interval_seconds
            else interval_days.kwh
        end as kwh,
        interval_days.power_kw,
        interval_days.end_at > local_days.day_end_utc as runs_past_day_end
    from interval_days
    inner join local_days
        on interval_days.time_zone = local_days.time_zone
            and interval_days.date = local_days.date
    where interval_days.start_at < local_days.day_end_utc
        and (
            interval_days.end_at > local_days.day_start_utc
            or (interval_days.interval_seconds = 0 and interval_days.start_at >= local_days.day_start_utc)
        )

),

pieces as (

    select
        site_id,
        date,
        start_at,
        end_at,
        kwh,
        power_kw,
        runs_past_day_end,
        {{ quarter_hour_start('start_at') }} as first_slot,
        {{ quarter_hour_start('end_at') }} as last_slot
    from (
        select * from single_day
        union all
        select * from split
    ) as all_pieces

),

events as (

    -- a piece within one slot: all its energy there (demand = kWh x 4)
    select
        site_id,
        date,
        first_slot as slot_start,
        cast(4 * kwh as decimal(18, 9)) as edge_kw,
        cast(0 as decimal(18, 9)) as power_change_kw
    from pieces
    where last_slot = first_slot or power_kw is null

    union all

    -- otherwise: its share of its first slot (power x the part of the 15 minutes it charges) ...
    select
        site_id,
        date,
        first_slot as slot_start,
        cast(
            power_kw * ({{ seconds_between('start_at', dbt.dateadd('minute', 15, 'first_slot')) }} / 900.0)
            as decimal(18, 9)
        ) as edge_kw,
        cast(0 as decimal(18, 9)) as power_change_kw
    from pieces
    where last_slot > first_slot and power_kw is not null

    union all

    -- ... its full power from its first full slot ...
    select
        site_id,
        date,
        {{ dbt.dateadd('minute', 15, 'first_slot') }} as slot_start,
        cast(0 as decimal(18, 9)) as edge_kw,
        cast(power_kw as decimal(18, 9)) as power_change_kw
    from pieces
    where {{ dbt.dateadd('minute', 15, 'first_slot') }} < last_slot and power_kw is not null

    union all

    -- ... and, in its last slot, its share of it and its power off (a piece cut at midnight runs to
    -- the day's end: nothing of it falls in the next day's first slot)
    select
        site_id,
        date,
        last_slot as slot_start,
        cast(power_kw * ({{ seconds_between('last_slot', 'end_at') }} / 900.0) as decimal(18, 9)) as edge_kw,
        case
            when {{ dbt.dateadd('minute', 15, 'first_slot') }} < last_slot then -cast(power_kw as decimal(18, 9))
            else cast(0 as decimal(18, 9))
        end as power_change_kw
    from pieces
    where last_slot > first_slot and power_kw is not null and not runs_past_day_end

),

slots as (

    select
        site_id,
        date,
        slot_start,
        sum(edge_kw) as edge_kw,
        sum(power_change_kw) as power_change_kw
    from events
    group by site_id, date, slot_start

),

demand as (

    select
        site_id,
        date,
        slot_start,
        -- the running sum is cast back to the events' DECIMAL(18, 9): Spark widens a sum's
        -- precision by 10 twice here, past 38 digits, and would then drop a decimal place
        cast(sum(power_change_kw) over (
            partition by site_id, date
            order by slot_start
            rows between unbounded preceding and current row
        ) as decimal(18, 9)) + edge_kw as demand_kw
    from slots

),

ranked as (

    select
        *,
        row_number() over (partition by site_id, date order by demand_kw desc, slot_start asc) as slot_rank
    from demand

),

site_time_zones as (

    select distinct
        site_id,
        time_zone
    from sessions

),

final as (

    select
        ranked.site_id,
        ranked.date,
        cast(ranked.demand_kw as double) as peak_demand_kw,
        {{ to_local_timestamp('ranked.slot_start', 'site_time_zones.time_zone') }} as peak_slot_start,
        ranked.slot_start as peak_slot_start_utc
    from ranked
    inner join site_time_zones
        on ranked.site_id = site_time_zones.site_id
    where ranked.slot_rank = 1

)

select * from final
