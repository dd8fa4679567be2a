-- Repeat-contact detection for repeat-based FCR: the next inbound contact of the same
-- pseudonymised caller (LEAD over caller_key ordered by time, not a self-join). A handled
-- contact is `repeat` if that next contact starts within W days, `pending` while its window is
-- still open at the latest data, `resolved` otherwise. Withheld callers cannot be followed and
-- get `no_caller_key` (outside the FCR denominator). The next contact is kept only when it falls
-- within the window (repeat_contact_ts): a row then depends on nothing after its window, which is
-- what lets a new day recompute the trailing window and nothing older.
-- Incremental: a run recomputes only the contacts whose flags new contacts can change, i.e. the
-- trailing FCR window before them (macros/fcr_incremental.sql), delete+insert by contact key.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['source_system', 'contact_id'],
        on_schema_change='sync_all_columns'
    )
}}

with

queues as (
    select * from {{ ref('int_queues_configured') }}
),

{% if is_incremental_with(['loaded_at', 'repeat_contact_ts']) %}
    contacts as (
        select ac.*
        from {{ ref('int_contacts_assembled') }} as ac
        where ac.contact_start_ts >= {{ fcr_recompute_from_ts(ref('int_contacts_assembled'), ref('int_queues_configured')) }}
    ),
    {%- set contacts_relation = 'contacts' %}
{% else %}
    -- a full build reads the table twice (narrow for the window, wide for the row): cheaper than
    -- materialising all of it once as a common table
    {%- set contacts_relation = ref('int_contacts_assembled') %}
{% endif %}

data_end as (
    select max(contact_start_ts) as data_end_ts from {{ ref('int_contacts_assembled') }}
),

-- the window sorts only the followed contacts (inbound, known caller) and only the columns it needs
followed as (
    select
        source_system,
        contact_id,
        lead(contact_start_ts) over (
            partition by {{ fcr_caller_columns() | join(', ') }}
            order by contact_start_ts, contact_id
        ) as next_contact_ts
    from {{ contacts_relation }}
    where direction = 'inbound' and caller_key is not null
),

configured as (
    select
        c.*,
        coalesce(q.fcr_window_days, {{ var('default_fcr_window_days') }}) as fcr_window_days
    from {{ contacts_relation }} as c
    left join queues as q
        on coalesce(c.last_queue_code, c.first_queue_code) = q.queue_code
),

windowed as (
    select
        *,
        {{ dbt.dateadd('day', 'fcr_window_days', 'contact_start_ts') }} as fcr_window_end_ts
    from configured
),

sequenced as (
    select
        w.*,
        case when f.next_contact_ts <= w.fcr_window_end_ts then f.next_contact_ts end as repeat_contact_ts
    from windowed as w
    left join followed as f
        on
            w.source_system is not distinct from f.source_system
            and w.contact_id is not distinct from f.contact_id
),

final as (
    select
        *,
        repeat_contact_ts is not null as is_repeat_within_window,
        case
            when not is_handled or direction <> 'inbound' then 'not_handled'
            when caller_key is null then 'no_caller_key'
            when repeat_contact_ts is not null then 'repeat'
            when fcr_window_end_ts > (select d.data_end_ts from data_end as d) then 'pending'
            else 'resolved'
        end as fcr_status
    from sequenced
)

select * from final
