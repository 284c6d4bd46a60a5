-- Charge ratings per charge point and site-local month of the rating: count, sum and average of
-- stars. A rating's charge point is its own charge_point_id, else its session's. Re-aggregate
-- averages as sum(total_stars) / sum(ratings). Operator and team are the charge point's.
-- Grain: one row per month, charge_point_id.

with ratings as (

    select * from {{ ref('stg_platform__ratings') }}

),

sessions as (

    select * from {{ ref('int_sessions') }}

),

charge_points as (

    select * from {{ ref('int_charge_points') }}

),

rated_charge_points as (

    select
        ratings.rating_id,
        ratings.stars,
        ratings.created_at,
        coalesce(ratings.charge_point_id, sessions.charge_point_id) as charge_point_id
    from ratings
    left join sessions
        on ratings.session_id = sessions.session_id

),

localized as (

    select
        rated_charge_points.rating_id,
        rated_charge_points.stars,
        rated_charge_points.charge_point_id,
        {{ month_start(
            local_date('rated_charge_points.created_at', "coalesce(charge_points.time_zone, 'UTC')")
        ) }} as month
    from rated_charge_points
    left join charge_points
        on rated_charge_points.charge_point_id = charge_points.charge_point_id
    where rated_charge_points.charge_point_id is not null

),

monthly as (

    select
        month,
        charge_point_id,
        count(*) as ratings,
        sum(stars) as total_stars
    from localized
    group by month, charge_point_id

),

final as (

    select
        monthly.month,
        charge_points.operator_id,
        charge_points.team_id,
        charge_points.site_id,
        monthly.charge_point_id,
        charge_points.charging_type,
        charge_points.access,
        cast(monthly.ratings as bigint) as ratings,
        cast(monthly.total_stars as bigint) as total_stars,
        {{ ratio('monthly.total_stars', 'monthly.ratings') }} as average_stars
    from monthly
    left join charge_points
        on monthly.charge_point_id = charge_points.charge_point_id

)

select * from final
