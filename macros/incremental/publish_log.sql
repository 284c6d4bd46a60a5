{#- The publish change log: what changed in a published incremental model since the serving
    file was last published, so that publishing copies the changed rows instead of every row
    (orchestration/publish.py; at tens of millions of sessions a full copy of the marts costs a
    minute, a day's changes a second).

    Every build of an incremental model appends what it replaced to its own log table
    intermediate._publish_changes__<schema>__<model> (one table per model, like the state
    tables, so parallel threads never write the same table), in the model's transaction:

      full        the whole table was (re)built: first build, --full-refresh, a full
                  recomputation;
      predicate   the rows matching `predicate` (a SQL condition on the table's own columns)
                  were deleted and the new rows matching it inserted;
      keys        the rows whose key is in intermediate._publish_keys__<schema>__<model> (rows
                  logged at the same time) were replaced.

    The publish step applies the logged changes since the last publish to a copy of the serving
    file (delete what matches, insert the build table's rows that match) and then clears the
    logs. A published incremental mart uses its own log; a published view over an incremental
    model, row for row, names that model in meta.publish.changes_from and uses its log (the
    keys or partition columns must be columns of the view). A table whose log cannot be trusted
    (no log table, serving not the last publish of this build database) is copied whole. -#}

{#- The change log (or, with prefix '_publish_keys', the logged keys) of the model at schema.identifier,
    by default the current model. -#}
{% macro publish_changes_relation(prefix='_publish_changes', schema=none, identifier=none) -%}
    {{ return(api.Relation.create(
        database=this.database,
        schema=generate_schema_name('intermediate', none),
        identifier=prefix ~ '__' ~ (schema or this.schema) ~ '__' ~ (identifier or this.identifier))) }}
{%- endmacro %}

{#- SQL statements that log one change (see above). `source` and `keys` for kind 'keys': the
    relation holding the new rows, and the key columns. -#}
{% macro log_publish_change(kind, predicate=none, source=none, keys=none) -%}
    {%- set log_rel = publish_changes_relation() %}
    create schema if not exists {{ log_rel.without_identifier() }};
    create table if not exists {{ log_rel }} (
        kind varchar,
        predicate varchar,
        logged_at timestamp
    );
    {%- if kind == 'keys' %}
        {%- set keys_rel = publish_changes_relation('_publish_keys') %}
        {%- set key_list = [keys] if keys is string else keys %}
    create table if not exists {{ keys_rel }} as
    select {{ key_list | join(', ') }}, current_timestamp as logged_at
    from {{ source }}
    where false;
    insert into {{ keys_rel }}
    select distinct {{ key_list | join(', ') }}, current_timestamp
    from {{ source }};
    {%- endif %}
    insert into {{ log_rel }} values (
        '{{ kind }}',
        {% if predicate is not none %}'{{ predicate | replace("'", "''") }}'{% else %}null{% endif %},
        current_timestamp
    );
{%- endmacro %}
