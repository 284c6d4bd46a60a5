with source as (

    select * from {{ source('platform', 'sessions') }}

),

renamed as (

    select
        {{ session_version_columns() | join(',\n        ') }}
    from source

),

current_version as (

    {{ latest_version('renamed', key=['session_id'], columns=session_version_columns()) }}

)

select * from current_version
