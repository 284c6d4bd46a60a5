{#- SQL pieces that apply an incremental plan (see plan.sql) inside a model.

    Date-partitioned models filter their rows with incremental_date_filter (the same predicate
    the strategy deletes with); keyed models select their affected keys with the *_keys_sql
    macros. On a full build or a full recomputation every filter is `true`. -#}

{#- SQL string literals of a list of ids, comma-separated. -#}
{% macro incremental_string_list(values) -%}
    {%- set quoted = [] -%}
    {%- for value in values -%}
        {%- do quoted.append("'" ~ (value | string | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {{ return(quoted | join(', ')) }}
{%- endmacro %}

{#- `charge_point_column in (...)` / `site_column in (...)` terms for the plan's affected charge
    points and sites (a list, possibly empty). -#}
{% macro incremental_key_terms(plan, charge_point_column=none, site_column=none) -%}
    {%- set terms = [] -%}
    {%- if charge_point_column is not none and plan.charge_points -%}
        {%- do terms.append(charge_point_column ~ ' in (' ~ incremental_string_list(plan.charge_points) ~ ')') -%}
    {%- endif -%}
    {%- if site_column is not none and plan.sites -%}
        {%- do terms.append(site_column ~ ' in (' ~ incremental_string_list(plan.sites) ~ ')') -%}
    {%- endif -%}
    {{ return(terms) }}
{%- endmacro %}

{#- The partition predicate of a date-partitioned model: `column` (a DATE) lies in one of the
    plan's date ranges, or the row's charge point / site (when those columns are given) is an
    affected one. The strategy deletes with it; the model selects its new rows with it. -#}
{% macro incremental_date_filter(column, plan, charge_point_column=none, site_column=none) -%}
    {%- if not plan.partial -%}
        true
    {%- else -%}
        {%- set terms = [] -%}
        {%- for r in plan.ranges -%}
            {%- if r[1] >= '9999-12-31' -%}
                {%- do terms.append(column ~ ' >= ' ~ date_literal(r[0])) -%}
            {%- elif r[0] == r[1] -%}
                {%- do terms.append(column ~ ' = ' ~ date_literal(r[0])) -%}
            {%- else -%}
                {%- do terms.append(column ~ ' between ' ~ date_literal(r[0]) ~ ' and ' ~ date_literal(r[1])) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do terms.extend(incremental_key_terms(plan, charge_point_column, site_column)) -%}
        {%- if terms -%}
            ({{ terms | join(' or ') }})
        {%- else -%}
            false
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Filter of a calendar (int_local_days) joined by date: the plan's dates, or every date when
    whole charge points or sites are rebuilt. -#}
{% macro incremental_calendar_filter(column, plan) -%}
    {%- if plan.partial and not plan.charge_points and not plan.sites -%}
        {{ incremental_date_filter(column, plan) }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- The inclusive date interval [first_column, last_column] meets one of the plan's date ranges
    (or the row's charge point / site is an affected one): selects the sessions whose occupied
    interval touches an affected partition. -#}
{% macro incremental_overlap_filter(first_column, last_column, plan, charge_point_column=none, site_column=none) -%}
    {%- if not plan.partial -%}
        true
    {%- else -%}
        {%- set terms = [] -%}
        {%- for r in plan.ranges -%}
            {%- if r[1] >= '9999-12-31' -%}
                {%- do terms.append(last_column ~ ' >= ' ~ date_literal(r[0])) -%}
            {%- else -%}
                {%- do terms.append('(' ~ first_column ~ ' <= ' ~ date_literal(r[1]) ~ ' and ' ~ last_column ~ ' >= ' ~ date_literal(r[0]) ~ ')') -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do terms.extend(incremental_key_terms(plan, charge_point_column, site_column)) -%}
        {%- if terms -%}
            ({{ terms | join(' or ') }})
        {%- else -%}
            false
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- session_id of the sessions to rebuild (plan kind `sessions`): a version loaded since the
    model's last build, plugged in within the run's window (UTC, with a day of slack on each side
    of the window's local dates), or on a charge point with registry changes. -#}
{% macro incremental_session_keys_sql(plan) -%}
    select session_id
    from {{ raw_table('sessions') }}
    where _loaded_at > {{ timestamp_literal(plan.wm) }}
    {%- if plan.charge_points %}
    union
    select session_id
    from {{ raw_table('sessions') }}
    where {{ incremental_key_terms(plan, charge_point_column='charge_point_id') | first }}
    {%- endif %}
    {%- if plan.window is not none %}
    union
    select session_id
    from {{ raw_table('sessions') }}
    where plugged_in_at >= {{ timestamp_literal(iso_add_days(plan.window[0], -2)) }}
        and plugged_in_at < {{ timestamp_literal(iso_add_days(plan.window[1], 3)) }}
    {%- endif %}
{%- endmacro %}

{#- The current version of the given sessions, read from raw: the same rule and columns as
    stg_platform__sessions (latest_version by updated_at), but only for the selected keys, so
    that the latest-version aggregation does not run over every raw session. -#}
{% macro current_session_versions(keys_sql) -%}
    {{ latest_version(
        '(select * from ' ~ raw_table('sessions') ~ ' where session_id in (' ~ keys_sql ~ ')) as affected_session_versions',
        key=['session_id'],
        columns=['session_id', 'charge_point_id', 'connector_id', 'paying_team_id', 'state', 'plugged_in_at',
                 'charging_started_at', 'charging_ended_at', 'unplugged_at', 'failed_at', 'failure_reason',
                 'stop_reason', 'kwh', 'price_excl_vat', 'price_incl_vat', 'currency', 'is_roaming', 'updated_at']) }}
{%- endmacro %}

{#- entry_id of the ledger entries to rebuild (plan kind `ledger`): loaded since, of a session
    with a version loaded since or on a charge point with registry changes, booked on or after the
    first date of newly loaded ECB rates, booked within the window. -#}
{% macro incremental_ledger_keys_sql(plan) -%}
    select entry_id
    from {{ raw_table('ledger') }}
    where _loaded_at > {{ timestamp_literal(plan.wm) }}
    union
    select entry_id
    from {{ raw_table('ledger') }}
    where session_id in (
        select session_id from {{ raw_table('sessions') }} where _loaded_at > {{ timestamp_literal(plan.wm) }}
        {%- if plan.charge_points %}
        union
        select session_id from {{ raw_table('sessions') }}
        where {{ incremental_key_terms(plan, charge_point_column='charge_point_id') | first }}
        {%- endif %}
    )
    {%- if plan.fx_from is not none %}
    union
    select entry_id
    from {{ raw_table('ledger') }}
    where booked_at >= {{ timestamp_literal(plan.fx_from) }}
    {%- endif %}
    {%- if plan.window is not none %}
    union
    select entry_id
    from {{ raw_table('ledger') }}
    where booked_at >= {{ timestamp_literal(iso_add_days(plan.window[0], -1)) }}
        and booked_at < {{ timestamp_literal(iso_add_days(plan.window[1], 2)) }}
    {%- endif %}
{%- endmacro %}

{#- Keys (cpo_country_code, cpo_party_id, cdr_id) of the CDRs to rebuild (plan kind `roaming`):
    seed CDRs, plus the CDRs the seed credits cancel and the credits that cancel a seed (a credit
    is attributed to the CDR it cancels, which in turn is flagged cancelled). Seeds: `loaded`
    (loaded since), `fx` (ending on or after the first new ECB rate date), `window` (ending in
    the run's window), `sites` (at an affected site or charge point). -#}
{% macro incremental_roaming_keys_sql(plan, seeds=['loaded', 'fx', 'window', 'sites']) -%}
    {%- set conditions = [] -%}
    {%- if 'loaded' in seeds -%}
        {%- do conditions.append('_loaded_at > ' ~ timestamp_literal(plan.wm)) -%}
    {%- endif -%}
    {%- if 'fx' in seeds and plan.fx_from is not none -%}
        {%- do conditions.append('end_date_time >= ' ~ timestamp_literal(plan.fx_from)) -%}
    {%- endif -%}
    {%- if 'window' in seeds and plan.window is not none -%}
        {%- do conditions.append('(end_date_time >= ' ~ timestamp_literal(iso_add_days(plan.window[0], -1))
            ~ ' and end_date_time < ' ~ timestamp_literal(iso_add_days(plan.window[1], 2)) ~ ')') -%}
    {%- endif -%}
    {%- if 'sites' in seeds -%}
        {%- do conditions.extend(incremental_key_terms(plan, charge_point_column='evse_uid', site_column='location_id')) -%}
    {%- endif -%}
    with roaming_seed_cdrs as (
        select
            country_code,
            party_id,
            id,
            coalesce(credit, false) as is_credit,
            nullif(credit_reference_id, '') as referenced_id
        from {{ raw_table('cdrs') }}
        where {{ conditions | join(' or ') }}
    )
    select country_code as cpo_country_code, party_id as cpo_party_id, id as cdr_id
    from roaming_seed_cdrs
    union
    select country_code, party_id, referenced_id
    from roaming_seed_cdrs
    where is_credit
        and referenced_id is not null
    union
    select credits.country_code, credits.party_id, credits.id
    from {{ raw_table('cdrs') }} as credits
    inner join roaming_seed_cdrs
        on credits.country_code = roaming_seed_cdrs.country_code
        and credits.party_id = roaming_seed_cdrs.party_id
        and nullif(credits.credit_reference_id, '') = roaming_seed_cdrs.id
    where coalesce(credits.credit, false)
{%- endmacro %}

{#- The plan's date ranges as a relation (range_start, range_end DATEs), to clip generated date
    series to the affected dates. Only for partial plans. Ranges are disjoint. -#}
{% macro incremental_ranges_sql(plan) -%}
    {%- for r in plan.ranges %}
    select {{ date_literal(r[0]) }} as range_start, {{ date_literal(r[1]) }} as range_end
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    select {{ date_literal('1900-01-01') }} as range_start, {{ date_literal('1900-01-01') }} as range_end
    where 1 = 0
    {%- endfor %}
{%- endmacro %}
