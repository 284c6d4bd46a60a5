{#- Small metric building blocks of the network domain (DESIGN.md section 5), each defined here
    once and reused by the intermediate models and marts. -#}

{#- Active charge point on local day `day`: commissioned on or before it and not decommissioned
    on or before it (local dates of commissioned_at / decommissioned_at). -#}
{% macro is_active_on(commissioned_date, decommissioned_date, day) -%}
    (
        {{ commissioned_date }} <= {{ day }}
        and ({{ decommissioned_date }} is null or {{ decommissioned_date }} > {{ day }})
    )
{%- endmacro %}

{#- A finished session: completed or failed (in_progress counts in no metric). -#}
{% macro is_finished_state(state) -%}
    ({{ state }} in ('completed', 'failed'))
{%- endmacro %}

{#- numerator / denominator x 100 as DOUBLE, NULL when the denominator is 0 or NULL. Not rounded.
    Computed in DOUBLE from the start: a DECIMAL literal times an integer would be divided as
    DECIMAL on Spark (rounded to its result scale) but as DOUBLE on DuckDB. -#}
{% macro percentage(numerator, denominator) -%}
    case
        when {{ denominator }} > 0
            then cast(100.0 * cast({{ numerator }} as double) / {{ denominator }} as double)
    end
{%- endmacro %}

{#- numerator / denominator as DOUBLE, NULL when the denominator is 0 or NULL (DOUBLE division on
    every engine, as percentage). -#}
{% macro ratio(numerator, denominator) -%}
    case
        when {{ denominator }} > 0
            then cast(cast({{ numerator }} as double) / {{ denominator }} as double)
    end
{%- endmacro %}

{#- Sum of a DOUBLE expression whose result does not depend on the order rows are added in (a
    plain floating-point sum does, in its last bits: parallel aggregation and incremental
    rebuilds add the same values in different orders). Each value is rounded to 1e-15 and the
    values are added exactly as DECIMAL(38, 15); the total is returned as DOUBLE. Use for every
    DOUBLE measure summed into a table, so that a rebuild gives bit-identical values. -#}
{% macro exact_sum(expression) -%}
    cast(sum(cast({{ expression }} as decimal(38, 15))) as double)
{%- endmacro %}
