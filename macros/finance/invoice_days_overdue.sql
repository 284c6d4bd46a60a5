{#- Days overdue of an invoice (DESIGN.md section 5): max(0, as_of_date - UTC date of due_at) for
    unpaid invoices, 0 for paid and settled ones. An unpaid invoice without a due date is not
    overdue (0). Days are UTC calendar days; an invoice due on the as_of_date is 0 days overdue.
    Returns a BIGINT. `as_of` defaults to the run's logical date. -#}
{% macro invoice_days_overdue(status_expr, due_at_expr, as_of=none) -%}
    {%- set as_of_expr = as_of if as_of is not none else as_of_date() -%}
    cast(
        case
            when {{ status_expr }} = 'unpaid' and {{ due_at_expr }} is not null
                then greatest(0, {{ dbt.datediff(utc_calendar_date(due_at_expr), as_of_expr, 'day') }})
            else 0
        end
    as bigint)
{%- endmacro %}
