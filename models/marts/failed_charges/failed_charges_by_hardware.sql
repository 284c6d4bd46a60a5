-- Finished sessions and failures per local plug-in month and hardware, where brand, model and
-- firmware are those the charge point had at the session's plug-in (point in time). Missing
-- hardware values are shown as 'unknown'.
-- Grain: one row per month, brand, model, firmware_version.

with session_counts as (

    select * from {{ ref('int_session_counts_daily') }}

),

hardware_monthly as (

    select
        {{ month_start('date') }} as month,
        brand,
        model,
        firmware_version,
        sum(sessions) as total_sessions,
        sum(completed_sessions) as completed_sessions,
        sum(failed_sessions) as failed_sessions
    from session_counts
    group by
        {{ month_start('date') }},
        brand,
        model,
        firmware_version

),

final as (

    select
        month,
        brand,
        model,
        firmware_version,
        cast(total_sessions as bigint) as total_sessions,
        cast(completed_sessions as bigint) as completed_sessions,
        cast(failed_sessions as bigint) as failed_sessions,
        {{ percentage('failed_sessions', 'total_sessions') }} as failed_pct
    from hardware_monthly

)

select * from final
