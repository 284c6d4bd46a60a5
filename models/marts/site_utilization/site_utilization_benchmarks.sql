-- The industry benchmark rules (from the utilization_benchmarks seed), published so the BI tool
-- can draw the benchmark lines next to the sites. Grain: one row per metric, tier.

with benchmarks as (

    select * from {{ ref('utilization_benchmarks') }}

),

final as (

    select
        cast(metric as {{ dbt.type_string() }}) as metric,
        cast(tier as {{ dbt.type_string() }}) as tier,
        cast(comparison as {{ dbt.type_string() }}) as comparison,
        cast(threshold as double) as threshold,
        cast(evaluation_order as integer) as evaluation_order
    from benchmarks

)

select * from final
