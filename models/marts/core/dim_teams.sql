with

teams as (

    select * from {{ ref('stg_platform__teams') }}

),

operators as (

    select * from {{ ref('dim_operators') }}

),

final as (

    select
        teams.team_id,
        teams.name as team_name,
        teams.operator_id,
        operators.operator_name,
        operators.parent_operator_id,
        operators.parent_operator_name,
        teams.created_at,
        teams.updated_at
    from teams
    left join operators
        on teams.operator_id = operators.operator_id

)

select * from final
