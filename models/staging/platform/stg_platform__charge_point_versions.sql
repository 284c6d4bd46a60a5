with source as (

    select * from {{ source('platform', 'charge_points') }}

),

renamed as (

    select
        charge_point_id,
        site_id,
        team_id,
        operator_id,
        brand,
        model,
        firmware_version,
        charging_type,
        max_power_kw,
        connector_count,
        access,
        roaming_enabled,
        commissioned_at,
        decommissioned_at,
        updated_at
    from source

),

versions as (

    {{ version_validity(
        'renamed',
        key=['charge_point_id'],
        columns=[
            'charge_point_id', 'site_id', 'team_id', 'operator_id', 'brand', 'model', 'firmware_version',
            'charging_type', 'max_power_kw', 'connector_count', 'access', 'roaming_enabled', 'commissioned_at',
            'decommissioned_at', 'updated_at'
        ]
    ) }}

)

select * from versions
