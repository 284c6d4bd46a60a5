-- The charging ports of every charge point: connectors 1..connector_count of its current registry
-- version (DESIGN.md section 5; 1 when the registry leaves connector_count empty).
-- Grain: one row per charge_point_id, connector_id.

with charge_points as (

    select
        charge_point_id,
        coalesce(connector_count, 1) as connector_count
    from {{ ref('int_charge_points') }}

),

ports as (

    select
        charge_point_id,
        {{ integer_series(1, 'connector_count') }} as connector_id
    from charge_points
    where connector_count >= 1

)

select * from ports
