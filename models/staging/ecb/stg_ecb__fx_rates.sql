with source as (

    select * from {{ source('ecb', 'fx_rates') }}

),

renamed as (

    select
        rate_date,
        currency,
        rate
    from source

)

select * from renamed
