{#- Enforced contracts on Spark. Spark itself enforces NOT NULL only on Delta tables (ALTER
    COLUMN ... SET NOT NULL, which dbt-spark issues); on Parquet tables — this project's on Spark,
    and any table without an explicit `file_format: delta` — that statement is refused. So for those
    the NOT NULL constraints of an enforced contract are checked right after the table is built,
    in one query, and a violation fails the model naming the columns and the rows, as DuckDB's
    NOT NULL does during the build (the Spark table then holds the failed build's rows until the
    next build: the failed model stops everything downstream, and on DuckDB the publish step).
    Overrides dbt-spark's spark__persist_constraints (dbt looks in the root project first). -#}
{% macro spark__persist_constraints(relation, model) %}
    {%- set contract_config = config.get('contract') -%}
    {%- if contract_config.enforced and config.get('file_format') == 'delta' -%}
        {%- do alter_table_add_constraints(relation, model.constraints) -%}
        {%- do alter_column_set_constraints(relation, model.columns) -%}
    {%- elif contract_config.enforced -%}
        {%- do check_not_null_constraints(relation, model) -%}
    {%- endif -%}
{% endmacro %}

{#- Fails when a column with a not_null constraint (on the column, or a model-level not_null
    constraint listing it) has a NULL in `relation`. -#}
{% macro check_not_null_constraints(relation, model) %}
    {%- set columns = [] -%}
    {%- for name, column in model.columns.items() -%}
        {%- if column.constraints | selectattr('type', 'equalto', 'not_null') | list -%}
            {%- do columns.append(name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for constraint in model.constraints if constraint.type == 'not_null' -%}
        {%- for name in constraint.columns if name not in columns -%}
            {%- do columns.append(name) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if columns -%}
        {%- set query -%}
            select
                {%- for name in columns %}
                sum(case when {{ adapter.quote(name) }} is null then 1 else 0 end) as {{ adapter.quote('nulls_' ~ loop.index) }}{{ ',' if not loop.last }}
                {%- endfor %}
            from {{ relation }}
        {%- endset -%}
        {%- set counts = run_query(query).rows[0] -%}
        {%- set violations = [] -%}
        {%- for name in columns -%}
            {%- if (counts[loop.index0] or 0) > 0 -%}
                {%- do violations.append(name ~ ' (' ~ counts[loop.index0] ~ ' rows)') -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if violations -%}
            {%- do exceptions.raise_database_error('NOT NULL constraint violated in ' ~ relation ~ ': ' ~ violations | join(', ')) -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}

{#- Post-hook of the marts: on Spark, after an incremental run of a model with an enforced
    contract on a non-Delta table, the NOT NULL columns are checked as after a full build
    (dbt-spark calls persist_constraints only when it creates the table). Renders nothing, and
    runs nothing, anywhere else. -#}
{% macro check_incremental_contract() -%}
    {{ return(adapter.dispatch('check_incremental_contract', 'ev_warehouse')()) }}
{%- endmacro %}

{% macro default__check_incremental_contract() -%}
{%- endmacro %}

{% macro spark__check_incremental_contract() -%}
    {%- if execute and model.config.materialized == 'incremental' and is_incremental()
          and config.get('contract').enforced and config.get('file_format') != 'delta' -%}
        {%- do check_not_null_constraints(this, model) -%}
    {%- endif -%}
{%- endmacro %}
