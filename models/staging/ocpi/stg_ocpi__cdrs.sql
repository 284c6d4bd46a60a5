with source as (

    select * from {{ source('ocpi', 'cdrs') }}

),

renamed as (

    select
        country_code as cpo_country_code,
        party_id as cpo_party_id,
        id as cdr_id,
        start_date_time,
        end_date_time,
        session_id,
        token_country_code,
        token_party_id,
        token_uid,
        token_type,
        token_contract_id,
        location_id as site_id,
        evse_uid as charge_point_id,
        connector_id,
        latitude,
        longitude,
        location_country,
        connector_power_type,
        currency,
        total_cost_excl_vat,
        total_cost_incl_vat,
        total_energy,
        total_time,
        total_parking_time,
        credit,
        credit_reference_id,
        last_updated,
        provider,
        token_country_code || '*' || token_party_id as emsp_party
    from source

)

select * from renamed
