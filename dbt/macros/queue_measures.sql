-- The additive queue measures of agg_queue_interval, rolled up by summing in agg_queue_daily and
-- agg_center_daily (a ratio is always sum(num) / sum(den), never an average of ratios).
{% macro queue_additive_measures() -%}
    {{ return([
        'offered', 'answered', 'abandoned', 'short_abandoned', 'timeout', 'exit_key', 'overflow', 'error',
        'transferred_out', 'answered_within_t', 'abandoned_within_t', 'wait_answered_s', 'wait_abandoned_s',
        'handled', 'handle_s', 'talk_s', 'hold_s', 'acw_s', 'acw_missing', 'held',
        'sl_num', 'sl_den', 'sl_ignore_num', 'sl_ignore_den', 'sl_negative_num', 'sl_negative_den',
        'sl_positive_num', 'sl_positive_den', 'sl_answered_num', 'sl_answered_den',
        'answer_rate_num', 'answer_rate_den', 'abandon_rate_num', 'abandon_rate_den',
        'asa_num', 'asa_den', 'aht_num', 'aht_den'
    ]) }}
{%- endmacro %}

{#- Convenience ratios computed from summed numerators and denominators. -#}
{% macro queue_ratio_columns() -%}
    {{ safe_ratio('sl_num', 'sl_den') }} as service_level,
    {{ safe_ratio('answer_rate_num', 'answer_rate_den') }} as answer_rate,
    {{ safe_ratio('abandon_rate_num', 'abandon_rate_den') }} as abandon_rate,
    {{ safe_ratio('asa_num', 'asa_den') }} as asa_s,
    {{ safe_ratio('aht_num', 'aht_den') }} as aht_s
{%- endmacro %}
