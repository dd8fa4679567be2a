-- One row per queue (configured or seen in the data) with the parameters every KPI used.
select
    queue_code,
    queue_name_zh,
    queue_name_en,
    site_code,
    site_name,
    time_zone,
    sl_threshold_s,
    sl_target,
    short_abandon_s,
    fcr_window_days,
    asa_target_s,
    answer_rate_target,
    abandon_rate_target,
    is_configured
from {{ ref('int_queues_configured') }}
