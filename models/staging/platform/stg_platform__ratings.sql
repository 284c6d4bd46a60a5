with source as (

    select * from {{ source('platform', 'ratings') }}

),

renamed as (

    select
        rating_id,
        session_id,
        charge_point_id,
        stars,
        created_at
    from source

)

select * from renamed
