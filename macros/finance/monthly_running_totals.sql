{#- Gap-filled monthly series with running totals (DESIGN.md section 5: "Running revenue =
    cumulative sum by month from the first month with an entry for that key, with gap months
    present (revenue 0, running unchanged)"). The one definition of a gap-filled running total:
    revenue_running_by_operator, team_revenue_monthly, cp_activity_monthly (accumulated sessions
    and kWh) and cp_counts_monthly (total charge points) are built on it.

    relation         a relation or CTE name with at most one row per key x month
    key_columns      the key (list of column names); a key column may be NULL (charge points
                     missing from the registry have no segment): NULLs are one key value, as in
                     a group by. Columns that depend on the key only may be listed too.
    measure_columns  columns summed per month; a gap month gets 0 (a NULL in a month with data,
                     e.g. an EUR amount without a rate, stays NULL)
    running_columns  mapping {measure column: name of its running-total column}
    month_column     the month column of `relation` (DATE, first day of the month)
    through_month    SQL expression (DATE, first day of a month) the series runs to at least;
                     default the as_of_date's month. When the data has later months, every key's
                     series runs to the last month with data instead, so nothing is dropped.
    max_months       upper bound of the series length (months from the earliest first month to
                     the end); 1200 = 100 years
    exact_columns    DOUBLE measures whose running total is added exactly (as DECIMAL(38, 15),
                     like exact_sum), so that it does not depend on the order of additions

    Returns a select: key columns, `month`, the measures and the running totals, one row per key
    and month from the key's first month with a row in `relation` to the end of the series. -#}
{% macro monthly_running_totals(relation, key_columns, measure_columns, running_columns, month_column='month', through_month=none, max_months=1200, exact_columns=[]) -%}
    {%- set through = through_month if through_month is not none else as_of_month_start() -%}
    {%- set keys = key_columns | join(', ') -%}
    with

    series_data as (

        select
            {{ keys }},
            {{ month_column }} as month,
            {%- for measure in measure_columns %}
            {{ measure }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ relation }}

    ),

    series_first_months as (

        select
            {{ keys }},
            min(month) as first_month
        from series_data
        group by {{ keys }}

    ),

    series_bounds as (

        select
            min(month) as series_start,
            max(month) as last_data_month
        from series_data

    ),

    series_offsets as (

        {{ dbt.generate_series(max_months) }}

    ),

    series_months as (

        select
            cast({{ dbt.dateadd('month', 'series_offsets.generated_number - 1', 'series_bounds.series_start') }} as date) as month,
            series_bounds.last_data_month
        from series_offsets
        cross join series_bounds

    ),

    series_spine as (

        select month
        from series_months
        where month <= case
            when last_data_month > {{ through }} then last_data_month
            else {{ through }}
        end

    ),

    -- a filler row for every key and month of its series, beside the data rows; grouped (not
    -- joined) so that NULL key values match each other
    series_rows as (

        select
            {%- for key in key_columns %}
            series_first_months.{{ key }},
            {%- endfor %}
            series_spine.month,
            0 as series_has_data,
            {%- for measure in measure_columns %}
            null as {{ measure }}{{ ',' if not loop.last }}
            {%- endfor %}
        from series_first_months
        inner join series_spine
            on series_spine.month >= series_first_months.first_month

        union all

        select
            {{ keys }},
            month,
            1 as series_has_data,
            {%- for measure in measure_columns %}
            {{ measure }}{{ ',' if not loop.last }}
            {%- endfor %}
        from series_data

    ),

    series_filled as (

        select
            {{ keys }},
            month,
            {%- for measure in measure_columns %}
            case
                when max(series_has_data) = 0 then 0
                else sum(case when series_has_data = 1 then {{ measure }} end)
            end as {{ measure }}{{ ',' if not loop.last }}
            {%- endfor %}
        from series_rows
        group by {{ keys }}, month

    )

    select
        {{ keys }},
        month,
        {%- for measure in measure_columns %}
        {{ measure }},
        {%- endfor %}
        {%- for measure, running_name in running_columns.items() %}
        sum({{ 'cast(' ~ measure ~ ' as decimal(38, 15))' if measure in exact_columns else measure }}) over (
            partition by {{ keys }}
            order by month
            rows between unbounded preceding and current row
        ) as {{ running_name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from series_filled
{%- endmacro %}
