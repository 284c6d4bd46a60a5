-- Finished sessions and failures per local plug-in month and hardware, where brand, model and
-- firmware are those the charge point had at the session's plug-in (point in time). Missing
-- hardware values are shown as 'unknown'.
-- Grain: one row per month, brand, model, firmware_version.

with sessions as (

    select * from {{ ref('int_sessions') }}

),

hardware_monthly as (

    select
        plugged_in_month as month,
        coalesce(brand, 'unknown') as brand,
        coalesce(model, 'unknown') as model,
        coalesce(firmware_version, 'unknown') as firmware_version,
        count(*) as total_sessions,
        sum(case when is_completed then 1 else 0 end) as completed_sessions,
        sum(case when is_failed then 1 else 0 end) as failed_sessions
    from sessions
    where is_finished
    group by
        plugged_in_month,
        coalesce(brand, 'unknown'),
        coalesce(model, 'unknown'),
        coalesce(firmware_version, 'unknown')

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
