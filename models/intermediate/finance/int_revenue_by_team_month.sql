{%- set kind_columns = revenue_kind_columns() -%}

with

ledger_entries as (

    select * from {{ ref('int_ledger_entries') }}
    where team_id is not null

),

teams as (

    select * from {{ ref('stg_platform__teams') }}

),

ledger_team_operators as (

    -- Fallback for a paying team missing from the team registry: the operator its entries are
    -- booked to (the greatest id if there are several).
    select
        team_id,
        max(operator_id) as ledger_operator_id
    from ledger_entries
    group by team_id

),

team_operators as (

    select
        ledger_team_operators.team_id,
        coalesce(teams.operator_id, ledger_team_operators.ledger_operator_id) as operator_id
    from ledger_team_operators
    left join teams
        on ledger_team_operators.team_id = teams.team_id

),

team_months as (

    select
        booked_month as month,
        team_id,
        currency,
        {%- for kind, column in kind_columns.items() %}
            sum(case when kind = '{{ kind }}' then amount else 0 end) as {{ column }},
        {%- endfor %}
        sum(amount) as total_revenue,
        sum(revenue_eur) as total_revenue_eur,
        count(*) as entry_count
    from ledger_entries
    group by
        booked_month,
        team_id,
        currency

),

final as (

    select
        team_months.month,
        team_months.team_id,
        team_operators.operator_id,
        team_months.currency,
        {%- for column in kind_columns.values() %}
            team_months.{{ column }},
        {%- endfor %}
        team_months.total_revenue,
        team_months.total_revenue_eur,
        team_months.entry_count
    from team_months
    inner join team_operators
        on team_months.team_id = team_operators.team_id

)

select * from final
