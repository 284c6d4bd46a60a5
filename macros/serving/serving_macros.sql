{#- The metric formulas published as DuckDB SQL macros in the marts schema, so that the dashboards
    and BI tools compute a ratio, a percentage or a tier over any filter and range they choose
    with the very formula the marts use: `marts.failed_pct(sum(failed_sessions),
    sum(total_sessions))`. Each body is rendered from the dbt macro that defines the metric
    (percentage, ratio, uptime_pct, idle_minutes_per_session, benchmark_tier, the uptime limits), never written
    again; only parameter names (fixed here) go into the SQL. Publishing copies them into
    serving.duckdb with the tables (orchestration/publish.py). -#}

{#- [(name, [parameters], body)] of every published formula; benchmark_tier, which reads the
    benchmark rules table, only with_rules (the table exists: a build may not have made it yet). -#}
{% macro serving_macro_definitions(schema, with_rules) -%}
    {%- set definitions = [
        ('percentage', ['numerator', 'denominator'], percentage('numerator', 'denominator')),
        ('ratio', ['numerator', 'denominator'], ratio('numerator', 'denominator')),
        ('failed_pct', ['failed_sessions', 'total_sessions'], percentage('failed_sessions', 'total_sessions')),
        ('success_pct', ['successful_sessions', 'roaming_sessions'], percentage('successful_sessions', 'roaming_sessions')),
        ('kwh_per_cp_day', ['kwh', 'cp_days'], ratio('kwh', 'cp_days')),
        ('time_utilised_pct', ['occupied_hours', 'available_hours'], percentage('occupied_hours', 'available_hours')),
        ('uptime_pct', ['period_minutes', 'outage_minutes', 'excluded_minutes'], uptime_pct('period_minutes', 'outage_minutes', 'excluded_minutes')),
        ('idle_minutes_per_session', ['idle_hours', 'sessions'], idle_minutes_per_session('idle_hours', 'sessions')),
        ('idle_over_1h_pct', ['sessions_idle_over_1h', 'sessions'], percentage('sessions_idle_over_1h', 'sessions')),
        ('peak_of_installed_pct', ['peak_demand_kw', 'installed_power_kw'], percentage('peak_demand_kw', 'installed_power_kw')),
        ('average_stars', ['total_stars', 'ratings'], ratio('total_stars', 'ratings')),
        ('nevi_uptime_limit_pct', [], nevi_uptime_limit_pct()),
        ('uk_rapid_uptime_limit_pct', [], uk_rapid_uptime_limit_pct()),
    ] -%}
    {%- if with_rules -%}
        {#- schema-qualified, not database-qualified: DuckDB binds the table when the macro is
            created and again in whichever file (build, serving) the macro is called -#}
        {%- do definitions.append(('benchmark_tier', ['metric_name', 'metric_value'], benchmark_tier(schema ~ '.site_utilization_benchmarks', 'metric_name', 'metric_value'))) -%}
    {%- endif -%}
    {{ return(definitions) }}
{%- endmacro %}

{#- Creates (or replaces) the published formulas as SQL macros of the marts schema. Run by the
    on-run-end hook (dbt_project.yml) after every dbt command that runs hooks, and by
    `dbt run-operation create_serving_macros`. Dispatched: DuckDB only; Spark (dbt-spark) has no
    SQL macros, and its warehouse is read by Spark SQL, not by the dashboards. -#}
{% macro create_serving_macros() -%}
    {{ return(adapter.dispatch('create_serving_macros', 'ev_warehouse')()) }}
{%- endmacro %}

{% macro default__create_serving_macros() -%}
{%- endmacro %}

{% macro duckdb__create_serving_macros() -%}
    {%- if execute -%}
        {%- set schema = generate_schema_name('marts', none) | trim -%}
        {#- outside a transaction (auto_begin=False): each statement commits on its own, also in
            `dbt run-operation`, which rolls back what it leaves in a transaction -#}
        {%- call statement('create_serving_schema', auto_begin=False) -%}
            create schema if not exists {{ adapter.quote(schema) }}
        {%- endcall -%}
        {%- call statement('serving_rules_table', fetch_result=True, auto_begin=False) -%}
            select count(*) from duckdb_tables()
            where database_name = current_database() and schema_name = '{{ schema }}'
                and table_name = 'site_utilization_benchmarks'
        {%- endcall -%}
        {%- set with_rules = load_result('serving_rules_table')['data'][0][0] > 0 -%}
        {%- for name, parameters, body in serving_macro_definitions(schema, with_rules) -%}
            {%- call statement('create_serving_macro', auto_begin=False) -%}
                create or replace macro {{ adapter.quote(schema) }}.{{ name }}({{ parameters | join(', ') }}) as {{ body }}
            {%- endcall -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
