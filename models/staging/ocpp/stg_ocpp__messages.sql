with source as (

    select * from {{ source('ocpp', 'ocpp') }}

),

renamed as (

    select
        charge_point_id,
        received_at,
        message_id,
        action,
        payload,
        connector_id,
        error_code,
        status,
        vendor_error_code,
        payload_timestamp,
        charge_point_vendor,
        charge_point_model,
        firmware_version
    from source

)

select * from renamed
