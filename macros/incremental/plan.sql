{#- The incremental plan of a model: what its next build must recompute.

    An incremental model declares its plan kind in `meta.incremental.plan`. On a full build
    (first build, --full-refresh, not incremental) the plan is {partial: false, full: true}
    and the model's SQL is its full-build SQL. On an incremental build the plan is computed
    from the model's own recorded state (see state.sql) and the raw tables:

      full     recompute everything (the SQL is the full-build SQL and the strategy replaces
               all rows) when the model has no recorded state, when the loader moved
               conflicting versions of a source it reads out of raw into the quarantine (a
               deletion), or when a registry change touches more than a quarter of all charge
               points;
      partial  otherwise: only the affected partitions are recomputed and replaced.

    Affected partitions are dates, charge points and sites:

      dates          (`ranges`) the run's window [min_date, max_date] with a day of slack on each
                     side (local dates are within a day of UTC dates), plus per kind:
                       network_dates  the dates of every raw version of each session with a
                                      version loaded since (old and new occupied intervals,
                                      +/- 1 day), and every date from the day before the earlier
                                      of the previous and the current as_of_date on (the
                                      calendar end and CP-days depend on as_of_date);
                       ocpp_dates     dates of StatusNotification messages loaded since;
                       roaming_dates  UTC reporting dates of CDRs loaded since and of their
                                      credit partners, and every date from the first date of
                                      newly loaded ECB rates on;
      charge points  (`charge_points`) those with registry versions loaded since and those that
                     ever stood at a site with registry versions loaded since: all their dates
                     (time zone, hardware, site, operator, team, commissioning may have changed);
      sites          (`sites`) those with registry versions loaded since and every site any
                     version of an affected charge point stood at; for roaming kinds also the
                     sites whose roaming attribution stored in the model differs from the
                     current int_roaming_sites (`meta.incremental.site_attributes`).

    Keyed kinds select keys instead: `sessions` (a version loaded since, plugged in within the
    window, on an affected charge point), `ledger` (loaded since, of a session with a new
    version or on an affected charge point, booked from the first new ECB rate date on or in the
    window), `roaming` (loaded since, ending from the first new ECB rate date on or in the
    window, on an affected charge point or site, and their credit partners).

    Date sets are lists of inclusive ranges [first, last] (ISO strings, '9999-12-31' = open end),
    merged and capped to a small number so that the filters stay simple range predicates that
    engines push into scans. Over-approximation is always safe: a recomputed partition is
    rebuilt from scratch. The plan is computed from data that does not change during the build
    (raw, the model's state, the model itself before its delete). The model writes its plan
    into its compiled SQL (incremental_plan_comment) and the strategy deletes with exactly that
    plan, so the rows deleted and the rows inserted always describe the same partitions. -#}

{% macro incremental_options() -%}
    {{ return((config.get('meta') or {}).get('incremental') or {}) }}
{%- endmacro %}

{#- Registries each kind depends on (charge points: attributes, time zone, hardware; sites: time
    zone, names, attribution), and sources whose raw rows it reads (a conflict there deletes). -#}
{% macro incremental_plan_dependencies(kind) -%}
    {%- set network = {'registries': ['charge_points', 'sites'], 'conflict_sources': ['sessions', 'charge_points', 'sites']} -%}
    {%- set dependencies = {
        'sessions': network,
        'network_dates': network,
        'ocpp_dates': {'registries': ['charge_points', 'sites'], 'conflict_sources': ['ocpp', 'charge_points', 'sites']},
        'ledger': {'registries': ['charge_points'], 'conflict_sources': ['ledger', 'sessions', 'charge_points', 'fx_rates']},
        'roaming': {'registries': ['charge_points', 'sites'], 'conflict_sources': ['cdrs', 'charge_points', 'sites', 'fx_rates']},
        'roaming_dates': {'registries': ['charge_points', 'sites'], 'conflict_sources': ['cdrs', 'charge_points', 'sites', 'fx_rates']},
    } -%}
    {%- if kind not in dependencies -%}
        {{ exceptions.raise_compiler_error('incremental plan kind ' ~ kind ~ ' is not one of ' ~ (dependencies.keys() | list)) }}
    {%- endif -%}
    {{ return(dependencies[kind]) }}
{%- endmacro %}

{#- dbt source name of each raw table used by the plans. -#}
{% macro raw_source_of(table_name) -%}
    {{ return({
        'sessions': 'platform', 'charge_points': 'platform', 'sites': 'platform', 'ledger': 'platform',
        'cdrs': 'ocpi', 'ocpp': 'ocpp', 'fx_rates': 'ecb',
    }[table_name]) }}
{%- endmacro %}

{% macro raw_table(table_name) -%}
    {{ return(raw_relation(raw_source_of(table_name), table_name)) }}
{%- endmacro %}

{% macro timestamp_literal(value) -%}
    cast('{{ value }}' as timestamp)
{%- endmacro %}

{% macro date_literal(value) -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{#- ISO date string +/- days (Jinja); the open end '9999-12-31' stays open. -#}
{% macro iso_add_days(iso_date, days) -%}
    {%- set value = (iso_date | string)[:10] -%}
    {%- if value >= '9999-12-31' -%}
        {{ return('9999-12-31') }}
    {%- endif -%}
    {%- set d = modules.datetime.date.fromisoformat(value) -%}
    {{ return((d + modules.datetime.timedelta(days=days)).isoformat()) }}
{%- endmacro %}

{#- The run's date window [min_date, max_date] (vars, inclusive) as ISO strings, or none. -#}
{% macro incremental_window() -%}
    {%- set min_date = run_var('min_date') -%}
    {%- set max_date = run_var('max_date') -%}
    {%- if min_date is none and max_date is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set first = ((min_date if min_date is not none else max_date) | string)[:10] -%}
    {%- set last = ((max_date if max_date is not none else min_date) | string)[:10] -%}
    {{ return([first, last] if first <= last else [last, first]) }}
{%- endmacro %}

{#- Merge inclusive ISO date ranges that overlap or touch; then, while more than `cap` remain,
    close the smallest gaps (a superset: more is recomputed, never less). -#}
{% macro merge_date_ranges(ranges, cap=24) -%}
    {%- set merged = [] -%}
    {%- for r in ranges | sort -%}
        {%- if merged and r[0] <= iso_add_days(merged[-1][1], 1) -%}
            {%- set last = merged.pop() -%}
            {%- do merged.append([last[0], [last[1], r[1]] | max]) -%}
        {%- else -%}
            {%- do merged.append([r[0], r[1]]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if merged | length > cap -%}
        {%- set gaps = [] -%}
        {%- for i in range(1, merged | length) -%}
            {%- do gaps.append((modules.datetime.date.fromisoformat(merged[i][0]) - modules.datetime.date.fromisoformat(merged[i - 1][1])).days) -%}
        {%- endfor -%}
        {%- set threshold = (gaps | sort)[(merged | length) - cap - 1] -%}
        {%- set capped = [merged[0]] -%}
        {%- for i in range(1, merged | length) -%}
            {%- if gaps[i - 1] <= threshold -%}
                {%- set last = capped.pop() -%}
                {%- do capped.append([last[0], merged[i][1]]) -%}
            {%- else -%}
                {%- do capped.append(merged[i]) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set merged = capped -%}
    {%- endif -%}
    {{ return(merged) }}
{%- endmacro %}

{#- Run a query returning (first_date, last_date) rows; return them as ISO ranges. -#}
{% macro fetch_date_ranges(spans_sql) -%}
    {%- set sql -%}
        with spans as (
            {{ spans_sql }}
        )
        select distinct cast(first_date as {{ dbt.type_string() }}), cast(last_date as {{ dbt.type_string() }})
        from spans
        where first_date is not null and last_date is not null
    {%- endset -%}
    {%- set ranges = [] -%}
    {%- for row in run_query(sql).rows -%}
        {%- do ranges.append([row[0][:10], row[1][:10]] if row[0] <= row[1] else [row[1][:10], row[0][:10]]) -%}
    {%- endfor -%}
    {{ return(ranges) }}
{%- endmacro %}

{#- Why a full recomputation is needed since `wm` (conflicting versions moved out of raw), or none. -#}
{% macro incremental_full_reason(kind, wm) -%}
    {%- set deps = incremental_plan_dependencies(kind) -%}
    {%- set sql -%}
        select count(*)
        from {{ raw_quarantine_relation() }}
        where quarantined_at > {{ timestamp_literal(wm) }}
            and rule like 'conflict%'
            and source in ('{{ deps.conflict_sources | join("', '") }}')
    {%- endset -%}
    {%- if run_query(sql).rows[0][0] > 0 -%}
        {{ return('conflicting versions were moved out of raw (' ~ (deps.conflict_sources | join(', ')) ~ ')') }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- Charge points and sites touched by registry versions loaded since `wm` (see above), as
    {charge_points: [...], sites: [...], total_charge_points: n}. -#}
{% macro incremental_registry_changes(kind, wm) -%}
    {%- set registries = incremental_plan_dependencies(kind).registries -%}
    {%- set cps = raw_table('charge_points') -%}
    {%- set sql -%}
        with changed_charge_points as (
            select charge_point_id from {{ cps }} where _loaded_at > {{ timestamp_literal(wm) }}
            {%- if 'sites' in registries %}
            union
            select charge_point_id from {{ cps }}
            where site_id in (select site_id from {{ raw_table('sites') }} where _loaded_at > {{ timestamp_literal(wm) }})
            {%- endif %}
        ),
        changed_sites as (
            {%- if 'sites' in registries %}
            select site_id from {{ raw_table('sites') }} where _loaded_at > {{ timestamp_literal(wm) }}
            union
            {%- endif %}
            select site_id from {{ cps }} where charge_point_id in (select charge_point_id from changed_charge_points)
        )
        select 'charge_point' as kind, charge_point_id as id from changed_charge_points where charge_point_id is not null
        union all
        select 'site' as kind, site_id as id from changed_sites where site_id is not null
        union all
        select 'total' as kind, cast(count(distinct charge_point_id) as {{ dbt.type_string() }}) as id from {{ cps }}
    {%- endset -%}
    {%- set changes = {'charge_points': [], 'sites': [], 'total_charge_points': 0} -%}
    {%- for row in run_query(sql).rows -%}
        {%- if row[0] == 'charge_point' -%}
            {%- do changes.charge_points.append(row[1]) -%}
        {%- elif row[0] == 'site' -%}
            {%- do changes.sites.append(row[1]) -%}
        {%- else -%}
            {%- do changes.update({'total_charge_points': row[1] | int}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do changes.update({'charge_points': changes.charge_points | unique | sort, 'sites': changes.sites | unique | sort}) -%}
    {{ return(changes) }}
{%- endmacro %}

{#- First rate date of ECB rates loaded since `wm` (ISO string), or none. -#}
{% macro incremental_fx_from(wm) -%}
    {%- set sql -%}
        select cast(min(rate_date) as {{ dbt.type_string() }})
        from {{ raw_table('fx_rates') }}
        where _loaded_at > {{ timestamp_literal(wm) }}
    {%- endset -%}
    {%- set value = run_query(sql).rows[0][0] -%}
    {{ return(value[:10] if value is not none else none) }}
{%- endmacro %}

{#- Sites (site_id, never NULL) whose attribution stored in the model (`this`) differs from the
    current roaming site rows, compared on `attributes` (NULL-safe). -#}
{% macro incremental_changed_roaming_sites(attributes) -%}
    {%- set sql -%}
        with stored as (
            select distinct site_id, {{ attributes | join(', ') }}
            from {{ this }}
            where site_id is not null
        )
        select distinct stored.site_id
        from stored
        left join {{ model_relation('int_roaming_sites') }} as current_sites
            on current_sites.site_id = stored.site_id
            {%- for attribute in attributes %}
            and current_sites.{{ attribute }} is not distinct from stored.{{ attribute }}
            {%- endfor %}
        where current_sites.site_id is null
        order by 1
    {%- endset -%}
    {{ return(run_query(sql).columns[0].values() | list) }}
{%- endmacro %}

{#- A dbt unit test renders the model without a relation (`this` is none): full-build SQL. -#}
{% macro incremental_plan() -%}
    {%- set options = incremental_options() -%}
    {%- set kind = options.get('plan') -%}
    {%- set plan = {
        'kind': kind, 'incremental': false, 'partial': false, 'full': true, 'reason': 'full build',
        'wm': none, 'window': none, 'ranges': [], 'fx_from': none, 'charge_points': [], 'sites': [],
    } -%}
    {%- if not execute or this is none -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- if not is_incremental() -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- do plan.update({'incremental': true}) -%}
    {%- set state = read_incremental_state(this) -%}
    {%- if state is none -%}
        {%- do plan.update({'reason': 'no incremental state recorded'}) -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set wm = state.loaded_through -%}
    {%- do plan.update({'wm': wm, 'window': incremental_window()}) -%}
    {%- set full_reason = incremental_full_reason(kind, wm) -%}
    {%- if full_reason is not none -%}
        {%- do plan.update({'reason': full_reason}) -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set registry = incremental_registry_changes(kind, wm) -%}
    {%- if registry.charge_points | length > 2000 or (registry.charge_points | length) * 4 > registry.total_charge_points > 0 -%}
        {%- do plan.update({'reason': 'registry changes touch ' ~ (registry.charge_points | length) ~ ' of ' ~ registry.total_charge_points ~ ' charge points'}) -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- do plan.update({'partial': true, 'full': false, 'reason': 'changes since ' ~ wm,
                        'charge_points': registry.charge_points, 'sites': registry.sites}) -%}
    {%- set window = plan.window -%}
    {%- set ranges = [] -%}
    {%- if window is not none -%}
        {#- local-date slack: a local date is within a day of the UTC date -#}
        {%- do ranges.append([iso_add_days(window[0], -1), iso_add_days(window[1], 1)]) -%}
    {%- endif -%}

    {%- if kind == 'network_dates' -%}
        {%- set spans_sql -%}
            select
                {{ add_days('cast(least(plugged_in_at, coalesce(unplugged_at, plugged_in_at)) as date)', -1) }} as first_date,
                {{ add_days('cast(greatest(plugged_in_at, coalesce(unplugged_at, plugged_in_at)) as date)', 1) }} as last_date
            from {{ raw_table('sessions') }}
            where session_id in (
                select session_id from {{ raw_table('sessions') }} where _loaded_at > {{ timestamp_literal(wm) }}
            )
        {%- endset -%}
        {%- do ranges.extend(fetch_date_ranges(spans_sql)) -%}
        {%- set as_of = as_of_date_iso() -%}
        {%- set previous_as_of = (state.as_of_date or as_of)[:10] -%}
        {%- do ranges.append([iso_add_days([as_of, previous_as_of] | min, -1), '9999-12-31']) -%}

    {%- elif kind == 'ocpp_dates' -%}
        {%- set spans_sql -%}
            select
                {{ add_days('cast(coalesce(payload_timestamp, received_at) as date)', -1) }} as first_date,
                {{ add_days('cast(coalesce(payload_timestamp, received_at) as date)', 1) }} as last_date
            from {{ raw_table('ocpp') }}
            where _loaded_at > {{ timestamp_literal(wm) }}
                and action = 'StatusNotification'
        {%- endset -%}
        {%- do ranges.extend(fetch_date_ranges(spans_sql)) -%}

    {%- elif kind in ('ledger', 'roaming', 'roaming_dates') -%}
        {%- set fx_from = incremental_fx_from(wm) -%}
        {%- do plan.update({'fx_from': fx_from}) -%}
        {%- if fx_from is not none and kind == 'roaming_dates' -%}
            {%- do ranges.append([fx_from, '9999-12-31']) -%}
        {%- endif -%}
        {%- if kind in ('roaming', 'roaming_dates') and options.get('site_attributes') -%}
            {%- set reattributed = incremental_changed_roaming_sites(options.get('site_attributes')) -%}
            {%- do plan.update({'sites': (plan.sites + reattributed) | unique | sort}) -%}
        {%- endif -%}
        {%- if kind == 'roaming_dates' -%}
            {#- reporting dates (UTC) of new CDRs and of their credit partners, before and after -#}
            {%- set spans_sql -%}
                with affected as (
                    {{ incremental_roaming_keys_sql(plan, seeds=['loaded']) }}
                )
                select
                    cast(cdrs.end_date_time as date) as first_date,
                    cast(cdrs.end_date_time as date) as last_date
                from {{ raw_table('cdrs') }} as cdrs
                inner join affected
                    on affected.cpo_country_code = cdrs.country_code
                    and affected.cpo_party_id = cdrs.party_id
                    and affected.cdr_id = cdrs.id
            {%- endset -%}
            {%- do ranges.extend(fetch_date_ranges(spans_sql)) -%}
        {%- endif -%}
    {%- endif -%}

    {%- do plan.update({'ranges': merge_date_ranges(ranges)}) -%}
    {{ return(plan) }}
{%- endmacro %}

{#- A one-line description of a plan for the logs. -#}
{% macro describe_incremental_plan(plan) -%}
    {%- if not plan.incremental -%}
        {{ return('full build') }}
    {%- elif plan.full -%}
        {{ return('incremental run, full recomputation: ' ~ plan.reason) }}
    {%- else -%}
        {%- set parts = ['incremental run, ' ~ plan.reason] -%}
        {%- if plan.ranges -%}
            {%- do parts.append('dates ' ~ (plan.ranges | map('join', '..') | join(', '))) -%}
        {%- endif -%}
        {%- if plan.fx_from -%}
            {%- do parts.append('fx from ' ~ plan.fx_from) -%}
        {%- endif -%}
        {%- if plan.charge_points -%}
            {%- do parts.append((plan.charge_points | length) ~ ' charge point(s) with registry changes') -%}
        {%- endif -%}
        {%- if plan.sites -%}
            {%- do parts.append((plan.sites | length) ~ ' site(s) changed') -%}
        {%- endif -%}
        {{ return(parts | join('; ')) }}
    {%- endif -%}
{%- endmacro %}

{#- The plan as a SQL comment in the model's compiled code, read back by the strategy
    (incremental_plan_of_model), so that its delete uses the very plan the model selected with. -#}
{% macro incremental_plan_comment(plan) -%}
    /* ev_incremental_plan {{ tojson(plan) }} */
{%- endmacro %}

{#- The plan the model compiled with (see incremental_plan_comment); recomputed if absent. -#}
{% macro incremental_plan_of_model() -%}
    {%- set code = model.get('compiled_code') or '' -%}
    {%- set found = modules.re.search('/\\* ev_incremental_plan (\\{.*\\}) \\*/', code) -%}
    {%- if found -%}
        {{ return(fromjson(found.group(1))) }}
    {%- endif -%}
    {%- do log(this ~ ': no incremental plan in the compiled SQL, computing it again', info=false) -%}
    {{ return(incremental_plan()) }}
{%- endmacro %}
