-- Every queue seen in the data or the seed, with its parameters; queues missing from
-- seeds/queue_config.csv get the project's var defaults so no KPI silently drops a queue.
with

queue_config as (
    select * from {{ ref('queue_config') }}
),

segments as (
    select * from {{ ref('stg_telephony__contact_segments') }}
),

observed_queue_codes as (
    select queue_code from segments
    where queue_code is not null
    union
    select transfer_to_queue as queue_code from segments
    where transfer_to_queue is not null
    union
    select queue_code from queue_config
),

resolved as (
    select
        observed.queue_code,
        coalesce(cfg.queue_name_zh, observed.queue_code) as queue_name_zh,
        coalesce(cfg.queue_name_en, observed.queue_code) as queue_name_en,
        coalesce(cfg.site_code, '{{ var("default_site_code") }}') as site_code,
        coalesce(cfg.site_name, cfg.site_code, '{{ var("default_site_code") }}') as site_name,
        coalesce(cfg.time_zone, '{{ var("default_time_zone") }}') as time_zone,
        cast(coalesce(cfg.sl_threshold_s, {{ var("default_sl_threshold_s") }}) as {{ dbt.type_float() }})
            as sl_threshold_s,
        cast(coalesce(cfg.sl_target, {{ var("default_sl_target") }}) as {{ dbt.type_float() }}) as sl_target,
        cast(coalesce(cfg.short_abandon_s, {{ var("default_short_abandon_s") }}) as {{ dbt.type_float() }})
            as short_abandon_s,
        cast(coalesce(cfg.fcr_window_days, {{ var("default_fcr_window_days") }}) as {{ dbt.type_int() }})
            as fcr_window_days,
        cast(coalesce(cfg.asa_target_s, {{ var("default_asa_target_s") }}) as {{ dbt.type_float() }})
            as asa_target_s,
        cast(coalesce(cfg.answer_rate_target, {{ var("default_answer_rate_target") }}) as {{ dbt.type_float() }})
            as answer_rate_target,
        cast(coalesce(cfg.abandon_rate_target, {{ var("default_abandon_rate_target") }}) as {{ dbt.type_float() }})
            as abandon_rate_target,
        cfg.queue_code is not null as is_configured
    from observed_queue_codes as observed
    left join queue_config as cfg
        on observed.queue_code = cfg.queue_code
)

select * from resolved
