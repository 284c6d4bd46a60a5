with

operators as (

    select * from {{ ref('stg_platform__operators') }}

),

parents as (

    select
        operator_id,
        name
    from operators

),

final as (

    select
        operators.operator_id,
        operators.name as operator_name,
        nullif(operators.parent_operator_id, '') as parent_operator_id,
        parents.name as parent_operator_name,
        nullif(operators.parent_operator_id, '') is null as is_top_level,
        operators.country_code,
        operators.currency,
        operators.updated_at
    from operators
    left join parents
        on parents.operator_id = nullif(operators.parent_operator_id, '')

)

select * from final
