-- The current version of each charge point: the latest (updated_at) of its versions in
-- stg_platform__charge_point_versions, which renames and casts the registry change log once.
-- Grain: one row per charge_point_id.

with versions as (

    select * from {{ ref('stg_platform__charge_point_versions') }}

),

current_version as (

    {{ latest_version(
        'versions',
        key=['charge_point_id'],
        columns=[
            'charge_point_id', 'site_id', 'team_id', 'operator_id', 'brand', 'model', 'firmware_version',
            'charging_type', 'max_power_kw', 'connector_count', 'access', 'roaming_enabled', 'commissioned_at',
            'decommissioned_at', 'updated_at'
        ]
    ) }}

)

select * from current_version
