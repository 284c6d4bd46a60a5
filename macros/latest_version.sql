{#- The current version of each key of a versioned source (DESIGN.md section 4): the row with
    the latest `order_by` per key. The loader has already quarantined conflicting versions
    (same key and updated_at, different content), so the order is total. -#}
{% macro latest_version(relation, key, columns, order_by='updated_at') -%}
    select
        {{ columns | join(',\n        ') }}
    from (
        select
            *,
            row_number() over (partition by {{ key | join(', ') }} order by {{ order_by }} desc) as version_rank
        from {{ relation }}
    ) as ranked
    where version_rank = 1
{%- endmacro %}

{#- Validity intervals of every version of a key (SCD type 2) from a change log: a version is
    valid from its updated_at until the next version's updated_at; the first version is also
    valid before its updated_at (DESIGN.md section 4), so valid_from of the first version is
    the beginning of time. valid_to is exclusive. -#}
{% macro version_validity(relation, key, columns, order_by='updated_at') -%}
    select
        {{ columns | join(',\n        ') }},
        case
            when lag({{ order_by }}) over (partition by {{ key | join(', ') }} order by {{ order_by }}) is null
                then cast('1900-01-01 00:00:00' as timestamp)
            else {{ order_by }}
        end as valid_from,
        coalesce(
            lead({{ order_by }}) over (partition by {{ key | join(', ') }} order by {{ order_by }}),
            cast('9999-12-31 00:00:00' as timestamp)
        ) as valid_to,
        lead({{ order_by }}) over (partition by {{ key | join(', ') }} order by {{ order_by }}) is null as is_current
    from {{ relation }}
{%- endmacro %}

{#- The columns of a charge session version (DESIGN.md section 4), as stg_platform__sessions selects
    them; int_sessions reads the same columns from raw for the sessions an incremental run rebuilds. -#}
{% macro session_version_columns() -%}
    {{ return(['session_id', 'charge_point_id', 'connector_id', 'paying_team_id', 'state', 'plugged_in_at',
               'charging_started_at', 'charging_ended_at', 'unplugged_at', 'failed_at', 'failure_reason',
               'stop_reason', 'kwh', 'price_excl_vat', 'price_incl_vat', 'currency', 'is_roaming', 'updated_at']) }}
{%- endmacro %}
