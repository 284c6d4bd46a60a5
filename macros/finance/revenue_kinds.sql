{#- Ledger entry kinds (DESIGN.md section 4) and the revenue column each one feeds in the
    team-revenue breakdown (section 5: fees = fee, charges = charge, subscriptions, write-offs,
    inter-company transfers, tax refunds). The single place that maps kinds to columns. -#}
{% macro revenue_kind_columns() -%}
    {{ return({
        'fee': 'fees',
        'charge': 'charges',
        'subscription': 'subscriptions',
        'write_off': 'write_offs',
        'intercompany_transfer': 'intercompany_transfers',
        'tax_refund': 'tax_refunds',
    }) }}
{%- endmacro %}
