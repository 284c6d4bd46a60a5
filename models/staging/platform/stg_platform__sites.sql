with source as (

    select * from {{ source('platform', 'sites') }}

),

renamed as (

    select
        site_id,
        operator_id,
        team_id,
        name,
        address,
        city,
        postal_code,
        country_code,
        latitude,
        longitude,
        time_zone,
        created_at,
        updated_at
    from source

),

current_version as (

    {{ latest_version(
        'renamed',
        key=['site_id'],
        columns=[
            'site_id', 'operator_id', 'team_id', 'name', 'address', 'city', 'postal_code', 'country_code', 'latitude',
            'longitude', 'time_zone', 'created_at', 'updated_at'
        ]
    ) }}

)

select * from current_version
