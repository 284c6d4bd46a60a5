{#- Relations the incremental machinery reads without adding a dependency edge to the model.

    Change detection reads the raw tables' lineage column `_loaded_at` (set by the loader), which
    the staging views do not carry, and the loader's quarantine table. These reads happen in
    compile-time queries and hooks only; going through source()/ref() there would add parents
    to the model, which dbt unit tests would then require as inputs. The nodes are looked up in
    the graph instead, so names and schemas still come from the project's YAML. -#}

{#- The relation of a dbt source table (a raw table), e.g. raw_relation('platform', 'sessions'). -#}
{% macro raw_relation(source_name, table_name) -%}
    {%- set node = graph.sources.get('source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ table_name) -%}
    {%- if node is none -%}
        {{ exceptions.raise_compiler_error('raw_relation: no source ' ~ source_name ~ '.' ~ table_name) }}
    {%- endif -%}
    {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.identifier)) }}
{%- endmacro %}

{#- The loader's quarantine table (raw._quarantine: source, rule, raw_text, quarantined_at, ...),
    next to the raw tables. Conflicting versions are moved there out of raw. -#}
{% macro raw_quarantine_relation() -%}
    {%- set sessions = raw_relation('platform', 'sessions') -%}
    {{ return(api.Relation.create(database=sessions.database, schema=sessions.schema, identifier='_quarantine')) }}
{%- endmacro %}

{#- Every raw table with a `_loaded_at` column (all dbt sources that declare it). -#}
{% macro raw_lineage_relations() -%}
    {%- set relations = [] -%}
    {%- for node in graph.sources.values() | sort(attribute='unique_id') -%}
        {%- if node.package_name == project_name and '_loaded_at' in node.columns -%}
            {%- do relations.append(api.Relation.create(database=node.database, schema=node.schema, identifier=node.identifier)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(relations) }}
{%- endmacro %}

{#- The relation of another model of this project, by name, without a ref() edge. Only for
    models that are upstream of the caller anyway (built earlier in the same run). -#}
{% macro model_relation(model_name) -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ model_name) -%}
    {%- if node is none -%}
        {{ exceptions.raise_compiler_error('model_relation: no model ' ~ model_name) }}
    {%- endif -%}
    {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
{%- endmacro %}
