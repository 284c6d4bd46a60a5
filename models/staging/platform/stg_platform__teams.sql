with source as (

    select * from {{ source('platform', 'teams') }}

),

renamed as (

    select
        team_id,
        operator_id,
        name,
        created_at,
        updated_at
    from source

),

current_version as (

    {{ latest_version(
        'renamed',
        key=['team_id'],
        columns=[
            'team_id', 'operator_id', 'name', 'created_at', 'updated_at'
        ]
    ) }}

)

select * from current_version
