with source as (

    select * from {{ source('platform', 'wallets') }}

),

renamed as (

    select
        wallet_id,
        owner_type,
        owner_id,
        currency,
        balance,
        updated_at
    from source

),

current_version as (

    {{ latest_version(
        'renamed',
        key=['wallet_id'],
        columns=[
            'wallet_id', 'owner_type', 'owner_id', 'currency', 'balance', 'updated_at'
        ]
    ) }}

)

select * from current_version
