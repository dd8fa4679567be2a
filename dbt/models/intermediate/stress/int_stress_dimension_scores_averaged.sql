-- Respondent x dimension score (response level: intermediate only, never published).
-- Missing-data rule: the score is the mean of the answered items after reverse keying, provided
-- at least min_answered_share of the dimension's items were answered (default half); otherwise
-- the respondent has no score for that dimension and is not counted in its n.
with per_dimension as (
    select
        scored.response_id,
        scored.wave,
        scored.instrument,
        scored.dimension_code,
        sum(case when scored.is_answered then 1 else 0 end) as items_answered,
        avg(scored.score) as mean_score
    from {{ ref('int_stress_answers_scored') }} as scored
    group by scored.response_id, scored.wave, scored.instrument, scored.dimension_code
),

dimensions as (
    select distinct
        instrument,
        dimension_code,
        dimension_items,
        min_answered_share,
        high_score_threshold
    from {{ ref('stg_stress__items') }}
)

select
    per_dimension.response_id,
    per_dimension.wave,
    per_dimension.instrument,
    per_dimension.dimension_code,
    per_dimension.items_answered,
    dimensions.dimension_items,
    case
        when
            per_dimension.items_answered > 0
            and per_dimension.items_answered >= ceil(dimensions.min_answered_share * dimensions.dimension_items)
            then per_dimension.mean_score
    end as dimension_score,
    dimensions.high_score_threshold
from per_dimension
inner join dimensions
    on
        per_dimension.instrument = dimensions.instrument
        and per_dimension.dimension_code = dimensions.dimension_code
