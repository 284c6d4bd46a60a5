-- The Sites table of the Charge points dashboard: every site with its charge points (current
-- registry; active = as of as_of_date), the finished sessions plugged in during the as_of_date's
-- month (site-local calendar) and all finished sessions. Operator and team are the site's.
-- Grain: one row per site_id.

with sites as (

    -- the site with its charge point counts, counted once in dim_sites
    select * from {{ ref('dim_sites') }}

),

sessions as (

    select * from {{ ref('int_sessions') }}

),

session_counts as (

    select
        site_id,
        sum(case when plugged_in_month = {{ month_start(as_of_date()) }} then 1 else 0 end) as sessions_this_month,
        sum(
            case when plugged_in_month = {{ month_start(as_of_date()) }} and is_completed then 1 else 0 end
        ) as completed_sessions_this_month,
        count(*) as total_sessions,
        sum(case when is_completed then 1 else 0 end) as total_completed_sessions
    from sessions
    where is_finished
        and site_id is not null
    group by site_id

),

final as (

    select
        sites.site_id,
        sites.site_name,
        sites.operator_id,
        sites.team_id,
        sites.city,
        sites.country_code,
        {{ month_start(as_of_date()) }} as as_of_month,
        sites.charge_points,
        sites.active_charge_points,
        cast(coalesce(session_counts.sessions_this_month, 0) as bigint) as sessions_this_month,
        cast(coalesce(session_counts.completed_sessions_this_month, 0) as bigint) as completed_sessions_this_month,
        cast(coalesce(session_counts.total_sessions, 0) as bigint) as total_sessions,
        cast(coalesce(session_counts.total_completed_sessions, 0) as bigint) as total_completed_sessions
    from sites
    left join session_counts
        on sites.site_id = session_counts.site_id

)

select * from final
