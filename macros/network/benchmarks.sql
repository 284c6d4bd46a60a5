{#- True when `value` satisfies one benchmark rule of the `utilization_benchmarks` seed:
    comparison '>' / '>=' / '<' / '<=' against `threshold`, or 'otherwise' (always true: the
    fallback tier). The tier of a value is the matching rule with the lowest evaluation_order,
    so the thresholds live only in the seed. -#}
{% macro benchmark_condition(value, comparison, threshold) -%}
    case {{ comparison }}
        when '>' then {{ value }} > {{ threshold }}
        when '>=' then {{ value }} >= {{ threshold }}
        when '<' then {{ value }} < {{ threshold }}
        when '<=' then {{ value }} <= {{ threshold }}
        when 'otherwise' then true
        else false
    end
{%- endmacro %}

{#- The benchmark tier of `metric_value` for the metric named `metric_name`: the tier of the
    matching rule of `rules` (a relation shaped like the utilization_benchmarks seed) with the
    lowest evaluation_order; NULL for a NULL value. A scalar subquery, for the published DuckDB
    macro marts.benchmark_tier (create_serving_macros); site_utilization_monthly joins the same
    rules with benchmark_condition. -#}
{% macro benchmark_tier(rules, metric_name, metric_value) -%}
    (
        select min_by(benchmark_rules.tier, benchmark_rules.evaluation_order)
        from {{ rules }} as benchmark_rules
        where benchmark_rules.metric = {{ metric_name }}
            and {{ metric_value }} is not null
            and {{ benchmark_condition(metric_value, 'benchmark_rules.comparison', 'benchmark_rules.threshold') }}
    )
{%- endmacro %}
