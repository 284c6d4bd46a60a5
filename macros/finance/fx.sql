{#- Conversion to EUR with ECB reference rates (DESIGN.md section 5): an amount booked on date D
    in currency C is converted with C's rate of D, or of the latest earlier date with a rate for C
    (weekends, TARGET holidays and N/A cells have no row in stg_ecb__fx_rates). Rates are units
    of C per 1 EUR, so amount_eur = amount / rate; EUR amounts have rate 1. An amount dated before
    the first published rate of its currency (or in a currency the ECB does not publish) gets no
    rate and a NULL EUR amount.

    The as-of lookup is an equi-join on (currency, date) with a table of each currency's rate on
    every day from its first rate to the last date looked up (portable SQL: no engine-specific
    ASOF JOIN; a range join on validity intervals compared every amount with every interval of
    its currency — 300 a year — and was 8-10 times slower), in three pieces used together:

        with fx_rates as ( {{ fx_daily_rates(ref('stg_ecb__fx_rates'), '(select max(booked_date) from dated)') }} )
        ...
        left join fx_rates as fx
            on {{ fx_rate_on_condition('fx', 'entries.currency', 'entries.booked_date') }}
        ...
        {{ amount_in_eur('entries.amount', 'fx.rate') }} as revenue_eur
-#}

{#- One row per currency and day, from the currency's first rate date to `through_date` (a SQL
    DATE expression: the last date looked up): the rate of that day, or of the latest earlier
    ECB date (rate_date). EUR has rate 1 on every day from 2000-01-01 (earlier timestamps are
    quarantined at load). -#}
{% macro fx_daily_rates(fx_rates_relation, through_date) -%}
    select
        currency,
        rate_date,
        rate,
        {{ date_series('valid_from', 'valid_through') }} as date
    from (
        select
            currency,
            rate_date,
            rate,
            rate_date as valid_from,
            case
                when next_rate_date is null or {{ add_days('next_rate_date', -1) }} > {{ through_date }}
                    then {{ through_date }}
                else {{ add_days('next_rate_date', -1) }}
            end as valid_through
        from (
            select
                currency,
                rate_date,
                rate,
                lead(rate_date) over (partition by currency order by rate_date) as next_rate_date
            from {{ fx_rates_relation }}
            where currency <> 'EUR'
        ) as rates

        union all

        select
            'EUR' as currency,
            cast(null as date) as rate_date,
            cast(1 as double) as rate,
            cast('2000-01-01' as date) as valid_from,
            {{ through_date }} as valid_through
    ) as intervals
    where valid_from <= valid_through
{%- endmacro %}

{#- Join condition: the row of `fx_alias` (rows of fx_daily_rates) with the rate of
    `currency_expr` on the DATE `date_expr`. At most one row matches. -#}
{% macro fx_rate_on_condition(fx_alias, currency_expr, date_expr) -%}
    {{ fx_alias }}.currency = {{ currency_expr }}
        and {{ fx_alias }}.date = {{ date_expr }}
{%- endmacro %}

{#- An amount in EUR, DECIMAL(18,4): amount / (units of currency per 1 EUR). -#}
{% macro amount_in_eur(amount_expr, rate_expr) -%}
    cast({{ amount_expr }} / {{ rate_expr }} as decimal(18, 4))
{%- endmacro %}
