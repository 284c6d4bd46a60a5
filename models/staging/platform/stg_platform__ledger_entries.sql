with source as (

    select * from {{ source('platform', 'ledger') }}

),

renamed as (

    select
        entry_id,
        operator_id,
        team_id,
        plan_id,
        kind,
        amount,
        currency,
        booked_at,
        session_id,
        invoice_id
    from source

)

select * from renamed
