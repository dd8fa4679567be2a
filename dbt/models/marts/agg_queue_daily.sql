-- Queue x site-local reporting date: agg_queue_interval summed, with the queue's SL definition.
with

intervals as {{ not_materialized() }} (
    select * from {{ ref('agg_queue_interval') }}
),

queues as (
    select * from {{ ref('int_queues_configured') }}
),

daily as (
    select
        queue_code,
        site_code,
        report_date,
        {% for measure in queue_additive_measures() -%}
            sum({{ measure }}) as {{ measure }},
        {% endfor -%}
        count(*) as intervals
    from intervals
    group by queue_code, site_code, report_date
),

final as (
    select
        d.*,
        {{ queue_ratio_columns() }},
        q.sl_threshold_s,
        q.sl_target,
        q.short_abandon_s,
        d.offered = d.answered + d.abandoned + d.timeout + d.exit_key + d.overflow + d.error as reconciles
    from daily as d
    inner join queues as q
        on d.queue_code = q.queue_code
)

select * from final
