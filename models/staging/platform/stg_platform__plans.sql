with source as (

    select * from {{ source('platform', 'plans') }}

),

renamed as (

    select
        plan_id,
        operator_id,
        name,
        price,
        currency,
        billing_period,
        updated_at
    from source

),

current_version as (

    {{ latest_version(
        'renamed',
        key=['plan_id'],
        columns=[
            'plan_id', 'operator_id', 'name', 'price', 'currency', 'billing_period', 'updated_at'
        ]
    ) }}

)

select * from current_version
