with source as (

    select * from {{ source('platform', 'invoices') }}

),

renamed as (

    select
        invoice_id,
        operator_id,
        customer_type,
        customer_id,
        status,
        wallet_id,
        currency,
        payable_amount,
        issued_at,
        due_at,
        period_from,
        period_to,
        paid_at,
        updated_at
    from source

),

current_version as (

    {{ latest_version(
        'renamed',
        key=['invoice_id'],
        columns=[
            'invoice_id', 'operator_id', 'customer_type', 'customer_id', 'status', 'wallet_id', 'currency',
            'payable_amount', 'issued_at', 'due_at', 'period_from', 'period_to', 'paid_at', 'updated_at'
        ]
    ) }}

)

select * from current_version
