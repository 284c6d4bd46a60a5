{%- set kind_columns = revenue_kind_columns().values() | list -%}

with

team_months as (

    select * from {{ ref('int_revenue_by_team_month') }}

),

teams as (

    select * from {{ ref('dim_teams') }}

),

operators as (

    select * from {{ ref('dim_operators') }}

),

running as (

    {{ monthly_running_totals(
        'team_months',
        key_columns=['team_id', 'operator_id', 'currency'],
        measure_columns=kind_columns + ['total_revenue', 'total_revenue_eur'],
        running_columns={'total_revenue': 'running_revenue', 'total_revenue_eur': 'running_revenue_eur'}
    ) }}

),

final as (

    select
        running.month,
        cast(extract(year from running.month) as bigint) as year,
        running.team_id,
        teams.team_name,
        running.operator_id,
        operators.operator_name,
        operators.parent_operator_id,
        operators.parent_operator_name,
        running.currency,
        {%- for column in kind_columns %}
            cast(running.{{ column }} as decimal(18, 4)) as {{ column }},
        {%- endfor %}
        cast(running.total_revenue as decimal(18, 4)) as total_revenue,
        cast(running.running_revenue as decimal(18, 4)) as running_revenue,
        cast(running.total_revenue_eur as decimal(18, 4)) as total_revenue_eur,
        cast(running.running_revenue_eur as decimal(18, 4)) as running_revenue_eur
    from running
    left join teams
        on running.team_id = teams.team_id
    left join operators
        on running.operator_id = operators.operator_id

)

select * from final
