{#- Conversion to EUR with ECB reference rates (DESIGN.md section 5): an amount booked on date D
    in currency C is converted with C's rate of D, or of the latest earlier date with a rate for C
    (weekends, TARGET holidays and N/A cells have no row in stg_ecb__fx_rates). Rates are units
    of C per 1 EUR, so amount_eur = amount / rate; EUR amounts have rate 1. An amount dated before
    the first published rate of its currency (or in a currency the ECB does not publish) gets no
    rate and a NULL EUR amount.

    The as-of lookup is written as validity intervals plus a range join (portable SQL: no
    engine-specific ASOF JOIN), in three pieces used together:

        with fx_rates as ( {{ fx_rate_intervals(ref('stg_ecb__fx_rates')) }} )
        ...
        left join fx_rates as fx
            on {{ fx_rate_as_of_condition('fx', 'entries.currency', 'entries.booked_date') }}
        ...
        {{ amount_in_eur('entries.amount', 'fx.rate') }} as revenue_eur
-#}

{#- One row per currency and ECB rate date: the rate is valid from its rate_date (inclusive) until
    the currency's next rate_date (exclusive), the last one forever. A synthetic EUR row with rate
    1 is valid at all times. -#}
{% macro fx_rate_intervals(fx_rates_relation) -%}
    select
        currency,
        rate_date,
        rate,
        rate_date as valid_from,
        coalesce(
            lead(rate_date) over (partition by currency order by rate_date),
            cast('9999-12-31' as date)
        ) as valid_to
    from {{ fx_rates_relation }}
    where currency <> 'EUR'

    union all

    select
        'EUR' as currency,
        cast(null as date) as rate_date,
        cast(1 as double) as rate,
        cast('1900-01-01' as date) as valid_from,
        cast('9999-12-31' as date) as valid_to
{%- endmacro %}

{#- Join condition: the interval of `fx_alias` (rows of fx_rate_intervals) that holds the rate of
    `currency_expr` on the DATE `date_expr`. At most one interval matches. -#}
{% macro fx_rate_as_of_condition(fx_alias, currency_expr, date_expr) -%}
    {{ fx_alias }}.currency = {{ currency_expr }}
        and {{ date_expr }} >= {{ fx_alias }}.valid_from
        and {{ date_expr }} < {{ fx_alias }}.valid_to
{%- endmacro %}

{#- An amount in EUR, DECIMAL(18,4): amount / (units of currency per 1 EUR). -#}
{% macro amount_in_eur(amount_expr, rate_expr) -%}
    cast({{ amount_expr }} / {{ rate_expr }} as decimal(18, 4))
{%- endmacro %}
