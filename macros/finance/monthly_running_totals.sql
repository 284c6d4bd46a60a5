{#- Gap-filled monthly series with running totals (DESIGN.md section 5: "Running revenue =
    cumulative sum by month from the first month with an entry for that key, with gap months
    present (revenue 0, running unchanged)"). The one definition behind
    revenue_running_by_operator and team_revenue_monthly.

    relation         a relation or CTE name with at most one row per key x month
    key_columns      the key (list of column names, never NULL); columns that depend on the key
                     only (e.g. a team's operator) may be listed too
    measure_columns  columns summed per month; a gap month gets 0 (a NULL in a month with data,
                     e.g. an EUR amount without a rate, stays NULL)
    running_columns  mapping {measure column: name of its running-total column}
    month_column     the month column of `relation` (DATE, first day of the month)
    through_month    SQL expression (DATE, first day of a month) the series runs to at least;
                     default the as_of_date's month. When the data has later months, every key's
                     series runs to the last month with data instead, so nothing is dropped.
    max_months       upper bound of the series length (months from the earliest first month to
                     the end); 1200 = 100 years

    Returns a select: key columns, `month`, the measures and the running totals, one row per key
    and month from the key's first month with a row in `relation` to the end of the series. -#}
{% macro monthly_running_totals(relation, key_columns, measure_columns, running_columns, month_column='month', through_month=none, max_months=1200) -%}
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

    series_key_months as (

        select
            {%- for key in key_columns %}
            series_first_months.{{ key }},
            {%- endfor %}
            series_spine.month
        from series_first_months
        inner join series_spine
            on series_spine.month >= series_first_months.first_month

    ),

    series_filled as (

        select
            {%- for key in key_columns %}
            series_key_months.{{ key }},
            {%- endfor %}
            series_key_months.month,
            {%- for measure in measure_columns %}
            case
                when series_data.month is null then 0
                else series_data.{{ measure }}
            end as {{ measure }}{{ ',' if not loop.last }}
            {%- endfor %}
        from series_key_months
        left join series_data
            on series_data.month = series_key_months.month
            {%- for key in key_columns %}
            and series_data.{{ key }} = series_key_months.{{ key }}
            {%- endfor %}

    )

    select
        {{ keys }},
        month,
        {%- for measure in measure_columns %}
        {{ measure }},
        {%- endfor %}
        {%- for measure, running_name in running_columns.items() %}
        sum({{ measure }}) over (
            partition by {{ keys }}
            order by month
            rows between unbounded preceding and current row
        ) as {{ running_name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from series_filled
{%- endmacro %}
