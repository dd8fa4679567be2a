-- One returned questionnaire with its completion and straight-lining flags (response level:
-- intermediate only). Unanswered demographics become 'unknown', a group of its own, so the groups
-- of a breakdown always add up to the total (needed for complementary suppression).
-- complete: every dictionary item of the instrument(s) it answered has a valid answer.
-- straight-lined: at least straightline_min_items answered and all raw answers identical.
with answer_stats as (
    select
        scored.response_id,
        count(distinct scored.instrument) as instruments,
        sum(case when scored.is_answered then 1 else 0 end) as items_answered,
        min(case when scored.is_answered then scored.answer end) as lowest_answer,
        max(case when scored.is_answered then scored.answer end) as highest_answer
    from {{ ref('int_stress_answers_scored') }} as scored
    group by scored.response_id
),

expected as (
    select
        used.response_id,
        sum(instrument_rules.instrument_items) as items_expected,
        min(instrument_rules.straightline_min_items) as straightline_min_items
    from (
        select distinct
            response_id,
            instrument
        from {{ ref('int_stress_answers_scored') }}
    ) as used
    inner join (
        select distinct
            instrument,
            instrument_items,
            straightline_min_items
        from {{ ref('stg_stress__items') }}
    ) as instrument_rules
        on used.instrument = instrument_rules.instrument
    group by used.response_id
)

select
    responses.response_id,
    responses.wave,
    responses.submitted_at,
    coalesce(responses.project_group, 'unknown') as project_group,
    coalesce(responses.team, 'unknown') as team,
    coalesce(responses.gender, 'unknown') as gender,
    coalesce(responses.age_band, 'unknown') as age_band,
    coalesce(responses.education, 'unknown') as education,
    coalesce(responses.marital_status, 'unknown') as marital_status,
    coalesce(responses.tenure_band, 'unknown') as tenure_band,
    responses.has_comment,
    coalesce(answer_stats.items_answered, 0) as items_answered,
    coalesce(expected.items_expected, 0) as items_expected,
    coalesce(answer_stats.items_answered, 0) > 0
    and answer_stats.items_answered = expected.items_expected as is_complete,
    coalesce(
        answer_stats.items_answered >= greatest(expected.straightline_min_items, 2)
        and answer_stats.lowest_answer = answer_stats.highest_answer,
        false
    ) as is_straightlined
from {{ ref('stg_stress__responses') }} as responses
left join answer_stats
    on responses.response_id = answer_stats.response_id
left join expected
    on responses.response_id = expected.response_id
