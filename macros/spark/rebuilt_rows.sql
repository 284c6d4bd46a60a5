{#- The rows an incremental model keyed by its `unique_key` hands to its adapter's strategy, from
    `relation` (the CTE holding the rebuilt rows).

    DuckDB's delete+insert (and MERGE, where a table format has it) replaces the keys present in
    the rebuilt rows: the rebuilt rows are all it needs. Spark's Parquet tables have no MERGE: the
    strategy Spark ships for them is insert_overwrite, which replaces whole partitions (the
    model's `partition_by`, a date). So on Spark an incremental run selects, besides the rebuilt
    rows, the rows of the table that stay — those of every partition it overwrites (the
    partitions of the rebuilt rows, and those where the rebuilt keys were until now) whose key is
    not rebuilt. The result is what delete+insert leaves, partition by partition; partitions
    without a rebuilt key are not touched. A full build selects `relation` on every engine.

    Reading the table being overwritten is safe: Spark's dynamic partition overwrite (which
    dbt-spark turns on for insert_overwrite) writes to a staging directory and swaps the
    partitions in when the query has finished. -#}
{% macro rebuilt_rows(relation) -%}
    {{ return(adapter.dispatch('rebuilt_rows', 'ev_warehouse')(relation)) }}
{%- endmacro %}

{% macro default__rebuilt_rows(relation) -%}
    select * from {{ relation }}
{%- endmacro %}

{% macro spark__rebuilt_rows(relation) -%}
    {%- set partitions = config.get('partition_by') -%}
    {%- if not is_incremental() or config.get('incremental_strategy') != 'insert_overwrite' -%}
    select * from {{ relation }}
    {%- else -%}
    {%- set keys = config.get('unique_key') -%}
    {%- set keys = [keys] if keys is string else keys -%}
    {%- set partitions = [partitions] if partitions is string else partitions -%}
    {%- if not keys or not partitions -%}
        {%- do exceptions.raise_compiler_error('rebuilt_rows: ' ~ this ~ ' needs a unique_key and a partition_by for insert_overwrite on Spark') -%}
    {%- endif -%}
    {#- the table's own column order (Spark stores partition columns last) on both sides -#}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='quoted') | list -%}
    {%- set same_key -%}
        {% for k in keys %}{{ 'and ' if not loop.first }}stay.{{ adapter.quote(k) }} = rebuilt.{{ adapter.quote(k) }} {% endfor %}
    {%- endset -%}
    {%- set same_partition -%}
        {% for p in partitions %}{{ 'and ' if not loop.first }}stay.{{ adapter.quote(p) }} <=> overwritten.{{ adapter.quote(p) }} {% endfor %}
    {%- endset -%}
    select {{ columns | join(', ') }} from {{ relation }}
    union all
    select {% for c in columns %}stay.{{ c }}{{ ', ' if not loop.last }}{% endfor %}
    from {{ this }} as stay
    left semi join (
        -- the partitions overwritten: those of the rebuilt rows and those the rebuilt keys were in
        select {% for p in partitions %}{{ adapter.quote(p) }}{{ ', ' if not loop.last }}{% endfor %} from {{ relation }}
        union
        select {% for p in partitions %}stay.{{ adapter.quote(p) }}{{ ', ' if not loop.last }}{% endfor %}
        from {{ this }} as stay
        left semi join {{ relation }} as rebuilt on {{ same_key }}
    ) as overwritten on {{ same_partition }}
    left anti join {{ relation }} as rebuilt on {{ same_key }}
    {%- endif -%}
{%- endmacro %}
