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
