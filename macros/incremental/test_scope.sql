{#- Data tests of an incremental run look only at the rows the run may have changed.

    At ten million sessions the data tests of the big tables cost more than the incremental
    build itself (a unique test over 10M keys is 2-5 s), while a daily run changes a few
    thousand rows. Every rebuild of an incremental model is in its change log (publish_log.sql)
    until the next publish, and every publish follows a run whose blocking tests all passed: the
    rows outside the logged changes are rows a passing test run has already seen. So a test of
    an incremental model (or of a view over one, meta.publish.changes_from) selects, in an
    incremental run, only the rows matching the logged predicates or keys.

    Only row-level tests and key tests are scoped (not_null, not_null_columns, accepted_values,
    unique, unique_combination_of_columns): a duplicate key needs two rows with that key, and
    both match a predicate on key columns (the partition columns of every incremental model are
    part of its key) or were both replaced by key. Relationship tests and singular tests always
    see every row (a parent may disappear under an unchanged child).

    Scoping applies only to partition runs (the vars min_date/max_date set, as the Dagster job
    sets them for a daily partition or a backfill). Everything is tested when: dbt is run
    without a window (an analyst's `dbt build` / `dbt test`); the run is a full refresh; the var
    `full_tests` is true (use it in a partition run after adding or changing a test); the model
    has no change log, or a 'full' entry in it (first build, full recomputation).

    This overrides dbt's get_where_subquery (the hook every generic test uses to read its model),
    keeping its `where` config. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set scope = incremental_test_scope(relation) -%}
    {%- if scope is not none -%}
        {%- do conditions.append('(' ~ scope ~ ')') -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ (conditions | join(' and ')) ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{% macro incremental_test_scope(relation) -%}
    {%- set scoped_tests = ['not_null', 'not_null_columns', 'accepted_values', 'unique', 'unique_combination_of_columns'] -%}
    {%- if not execute or flags.FULL_REFRESH or incremental_window() is none
          or run_var('full_tests') in (true, 'true', 'True', 1, '1') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if (model.get('test_metadata') or {}).get('name') not in scoped_tests -%}
        {{ return(none) }}
    {%- endif -%}
    {#- the tested model, and the model whose change log describes its rows -#}
    {%- set ns = namespace(tested=none, owner=none) -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.schema == relation.schema
              and (node.alias or node.name) == relation.identifier -%}
            {%- set ns.tested = node -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if ns.tested is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if ns.tested.config.materialized == 'incremental' -%}
        {%- set ns.owner = ns.tested -%}
    {%- else -%}
        {%- set source_name = ((ns.tested.config.meta or {}).get('publish') or {}).get('changes_from') -%}
        {%- set source_node = graph.nodes.get('model.' ~ project_name ~ '.' ~ source_name) if source_name else none -%}
        {%- if source_node is not none and source_node.config.materialized == 'incremental' -%}
            {%- set ns.owner = source_node -%}
        {%- endif -%}
    {%- endif -%}
    {%- if ns.owner is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set log_rel = publish_changes_relation('_publish_changes', ns.owner.schema, ns.owner.alias or ns.owner.name) -%}
    {%- set keys_rel = publish_changes_relation('_publish_keys', ns.owner.schema, ns.owner.alias or ns.owner.name) -%}
    {%- if not incremental_state_exists(log_rel) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set entries = run_query('select kind, predicate from ' ~ log_rel).rows -%}
    {%- set terms = [] -%}
    {%- for entry in entries -%}
        {%- if entry[0] == 'full' -%}
            {{ return(none) }}
        {%- elif entry[0] == 'predicate' -%}
            {%- do terms.append('(' ~ entry[1] ~ ')') -%}
        {%- elif entry[0] == 'keys' and ('keys' not in terms) -%}
            {%- do terms.append('keys') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if 'keys' in terms -%}
        {%- set key_columns = [] -%}
        {%- for column in adapter.get_columns_in_relation(keys_rel) if column.name != 'logged_at' -%}
            {%- do key_columns.append(column.name) -%}
        {%- endfor -%}
        {%- set key_csv = key_columns | join(', ') -%}
        {%- do terms.remove('keys') -%}
        {%- do terms.append('((' ~ key_csv ~ ') in (select (' ~ key_csv ~ ') from ' ~ keys_rel ~ '))'
                            if key_columns | length > 1 else
                            '(' ~ key_csv ~ ' in (select ' ~ key_csv ~ ' from ' ~ keys_rel ~ '))') -%}
    {%- endif -%}
    {#- no change logged since the last publish: the rows are those the last passing run tested -#}
    {{ return(terms | join(' or ') if terms else 'false') }}
{%- endmacro %}
