-- The Teams table of the Charge points dashboard: every team with its charge points (current
-- registry; active = as of as_of_date) and the finished sessions on its charge points plugged in
-- during the as_of_date's month (each session's month on its site's local calendar).
-- A team is the team owning the charge point (not the paying team).
-- Grain: one row per team_id.

with teams as (

    select * from {{ ref('stg_platform__teams') }}

),

charge_points as (

    select * from {{ ref('int_charge_points') }}

),

sessions as (

    select * from {{ ref('int_sessions') }}

),

charge_point_counts as (

    select
        team_id,
        max(operator_id) as operator_id,
        count(*) as charge_points,
        sum(case when is_active then 1 else 0 end) as active_charge_points
    from charge_points
    where team_id is not null
    group by team_id

),

session_counts as (

    select
        team_id,
        max(operator_id) as operator_id,
        sum(case when plugged_in_month = {{ month_start(as_of_date()) }} then 1 else 0 end) as sessions_this_month,
        sum(
            case when plugged_in_month = {{ month_start(as_of_date()) }} and is_completed then 1 else 0 end
        ) as completed_sessions_this_month,
        count(*) as total_sessions
    from sessions
    where is_finished
        and team_id is not null
    group by team_id

),

all_teams as (

    select team_id from teams
    union
    select team_id from charge_point_counts
    union
    select team_id from session_counts

),

final as (

    select
        all_teams.team_id,
        teams.name as team_name,
        coalesce(teams.operator_id, charge_point_counts.operator_id, session_counts.operator_id) as operator_id,
        {{ month_start(as_of_date()) }} as as_of_month,
        cast(coalesce(charge_point_counts.charge_points, 0) as bigint) as charge_points,
        cast(coalesce(charge_point_counts.active_charge_points, 0) as bigint) as active_charge_points,
        cast(coalesce(session_counts.sessions_this_month, 0) as bigint) as sessions_this_month,
        cast(coalesce(session_counts.completed_sessions_this_month, 0) as bigint) as completed_sessions_this_month,
        cast(coalesce(session_counts.total_sessions, 0) as bigint) as total_sessions
    from all_teams
    left join teams
        on all_teams.team_id = teams.team_id
    left join charge_point_counts
        on all_teams.team_id = charge_point_counts.team_id
    left join session_counts
        on all_teams.team_id = session_counts.team_id

)

select * from final
