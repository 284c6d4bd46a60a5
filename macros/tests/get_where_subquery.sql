{#- The relation a generic data test reads (dbt's hook for the `where` test config, overridden).

    In an incremental build of the Dagster job (it sets WAREHOUSE_DBT_TEST_SCOPE=plan, read only
    while executing), a `valid_rows` test of a model whose rebuilt rows a run_plan set selects
    (meta.plan_set) reads only those rows: the rows outside the set were not rebuilt, and a
    passing test run saw them when they were (a plan is `built` only when its build, tests
    included, succeeded; the first build is full). Duplicates cannot hide: the set's columns are
    part of each such model's key. Relationship and singular tests, full builds, and analysts'
    runs (no variable) read every row. Measured at 1M sessions: a daily run's tests of the big
    tables go from ~7 s to well under a second (summed over threads); see docs/DECISIONS.md,
    "Tests of a daily run read the rebuilt rows". -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set scope = rebuilt_rows_condition(relation) -%}
    {%- if scope -%}
        {%- do conditions.append(scope) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ (conditions | join(' and ')) ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- `(columns) in (select columns from run_plan.<set>)` for the tested model, or none (see above). -#}
{% macro rebuilt_rows_condition(relation) -%}
    {%- if not execute or env_var('WAREHOUSE_DBT_TEST_SCOPE', '') != 'plan'
          or (model.get('test_metadata') or {}).get('name') != 'valid_rows' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set ns = namespace(plan_set=none) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' -%}
        {%- if node.schema == relation.schema and (node.alias or node.name) == relation.identifier -%}
            {%- set ns.plan_set = (node.config.meta or {}).get('plan_set') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set source = graph.sources.get('source.' ~ project_name ~ '.run_plan.' ~ ns.plan_set) if ns.plan_set else none -%}
    {%- if source is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set columns = source.columns.keys() | list -%}
    {%- set plan_relation = api.Relation.create(database=source.database, schema=source.schema, identifier=source.identifier) -%}
    {%- set csv = columns | join(', ') -%}
    {{ return(('(' ~ csv ~ ')' if columns | length > 1 else csv) ~ ' in (select ' ~ csv ~ ' from ' ~ plan_relation ~ ')') }}
{%- endmacro %}
