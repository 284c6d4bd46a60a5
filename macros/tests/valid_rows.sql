{#- Generic test: a model's row rules in one pass over it — its key is unique, these columns are
    never NULL, these columns only hold accepted values (NULL aside, as dbt's accepted_values). It
    replaces the unique / unique_combination_of_columns / not_null / not_null_columns /
    accepted_values tests of a model: one query and one dbt node instead of up to six (each dbt
    node costs ~50 ms of dbt itself, each query a scan of the model). It fails with one row per
    offending key (or record, without a key): how many rows share the key and, per rule, how many
    break it.

      key              column or list of columns that identify a row
      not_null         columns that must never be NULL
      accepted_values  {column: [values]} or {column: {values: [...], quote: false}} -#}
{% test valid_rows(model, key=none, not_null=none, accepted_values=none) %}
    {%- set key_columns = ([key] if key is string else key) or [] -%}
    {%- set rules = [] -%}
    {%- for column in not_null or [] -%}
        {%- do rules.append(('null__' ~ column, column ~ ' is null')) -%}
    {%- endfor -%}
    {%- for column, accepted in (accepted_values or {}).items() -%}
        {%- set values = accepted['values'] if accepted is mapping else accepted -%}
        {%- set quote = accepted.get('quote', true) if accepted is mapping else true -%}
        {%- set literals = [] -%}
        {%- for value in values -%}
            {%- do literals.append("'" ~ (value | string | replace("'", "''")) ~ "'" if quote else value | string) -%}
        {%- endfor -%}
        {%- do rules.append(('not_accepted__' ~ column,
                             column ~ ' is not null and ' ~ column ~ ' not in (' ~ literals | join(', ') ~ ')')) -%}
    {%- endfor -%}
    with checked as (
        select
            {%- for column in key_columns %}
            {{ column }},
            {%- endfor %}
            count(*) as rows_with_key
            {%- for name, condition in rules %},
            sum(case when {{ condition }} then 1 else 0 end) as {{ name }}
            {%- endfor %}
        from {{ model }}
        {%- if key_columns %}
        group by {{ key_columns | join(', ') }}
        {%- else %}
        where {% for name, condition in rules %}({{ condition }}){{ ' or ' if not loop.last }}{% endfor %}
        {%- endif %}
    )
    select *
    from checked
    where {% if key_columns %}rows_with_key > 1{% else %}false{% endif %}
        {%- for name, condition in rules %}
        or {{ name }} > 0
        {%- endfor %}
{% endtest %}
