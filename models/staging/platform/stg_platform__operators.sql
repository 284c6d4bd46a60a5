with source as (

    select * from {{ source('platform', 'operators') }}

),

renamed as (

    select
        operator_id,
        name,
        parent_operator_id,
        country_code,
        currency,
        updated_at
    from source

),

current_version as (

    {{ latest_version(
        'renamed',
        key=['operator_id'],
        columns=[
            'operator_id', 'name', 'parent_operator_id', 'country_code', 'currency', 'updated_at'
        ]
    ) }}

)

select * from current_version
