-- The whole center per reporting date: queue measures summed over queues (queue-stint grain, so
-- a transferred contact is offered once per queue) plus contact-grain customer measures summed
-- over queues and sites of agg_contact_outcomes_daily (their one definition).
with

queue_daily as (
    select * from {{ ref('agg_queue_daily') }}
),

contact_outcomes as (
    select * from {{ ref('agg_contact_outcomes_daily') }}
),

queue_totals as (
    select
        report_date,
    {% for measure in queue_additive_measures() -%}
        sum({{ measure }}) as {{ measure }}{{ "," if not loop.last }}
    {% endfor %}
    from queue_daily
    group by report_date
),

contact_totals as (
    select
        report_date,
        sum(contacts) as contacts,
        sum(handled_contacts) as handled_contacts,
        sum(complaint_num) as complaint_num,
        sum(complaint_den) as complaint_den,
        sum(transfer_num) as transfer_num,
        sum(transfer_den) as transfer_den,
        sum(fcr_num) as fcr_num,
        sum(fcr_den) as fcr_den,
        sum(fcr_pending) as fcr_pending,
        sum(csat_num) as csat_num,
        sum(csat_den) as csat_den,
        sum(nps_promoters) as nps_promoters,
        sum(nps_detractors) as nps_detractors,
        sum(nps_responses) as nps_responses
    from contact_outcomes
    group by report_date
),

final as (
    select
        coalesce(q.report_date, c.report_date) as report_date,
        {% for measure in queue_additive_measures() -%}
            coalesce(q.{{ measure }}, 0) as {{ measure }},
        {% endfor -%}
        {{ safe_ratio('q.sl_num', 'q.sl_den') }} as service_level,
        {{ safe_ratio('q.answer_rate_num', 'q.answer_rate_den') }} as answer_rate,
        {{ safe_ratio('q.abandon_rate_num', 'q.abandon_rate_den') }} as abandon_rate,
        {{ safe_ratio('q.asa_num', 'q.asa_den') }} as asa_s,
        {{ safe_ratio('q.aht_num', 'q.aht_den') }} as aht_s,
        coalesce(q.held, 0) as hold_rate_num,
        coalesce(q.handled, 0) as hold_rate_den,
        coalesce(c.contacts, 0) as contacts,
        coalesce(c.handled_contacts, 0) as handled_contacts,
        coalesce(c.complaint_num, 0) as complaint_num,
        coalesce(c.complaint_den, 0) as complaint_den,
        coalesce(c.transfer_num, 0) as transfer_num,
        coalesce(c.transfer_den, 0) as transfer_den,
        coalesce(c.fcr_num, 0) as fcr_num,
        coalesce(c.fcr_den, 0) as fcr_den,
        coalesce(c.fcr_pending, 0) as fcr_pending,
        coalesce(c.csat_num, 0) as csat_num,
        coalesce(c.csat_den, 0) as csat_den,
        coalesce(c.nps_promoters, 0) as nps_promoters,
        coalesce(c.nps_detractors, 0) as nps_detractors,
        coalesce(c.nps_responses, 0) as nps_responses
    from queue_totals as q
    full outer join contact_totals as c
        on q.report_date = c.report_date
)

select * from final
