{#- Generic test: none of `columns` is NULL, checked in one pass over the model (one row per
    offending record, with the names of its NULL columns). Used on staging views and
    intermediate tables instead of one not_null test per column: a view is computed once, not
    once per column, and a run has a handful of test nodes instead of hundreds. (Marts declare
    NOT NULL as contract constraints, which the engine enforces while building them.) -#}
{% test not_null_columns(model, columns) %}
    select *
    from (
        select
            concat_ws(', '
            {%- for column in columns %},
                case when {{ column }} is null then '{{ column }}' end
            {%- endfor %}
            ) as null_columns
        from {{ model }}
        where
            {%- for column in columns %}
            {{ column }} is null{{ ' or' if not loop.last }}
            {%- endfor %}
    ) as offending
{% endtest %}
