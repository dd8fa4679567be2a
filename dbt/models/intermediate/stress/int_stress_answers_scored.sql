-- Respondent x item (response level: stays in intermediate, never in marts or serving).
-- score = the answer after reverse keying (scale_min + scale_max - answer); answers outside the
-- item's scale count as skipped. Items missing from the dictionary are left out (tested in
-- staging), so any instrument works by editing the dictionary.
select
    answers.response_id,
    responses.wave,
    items.instrument,
    items.dimension_code,
    items.item_code,
    answers.answer,
    case
        when answers.answer is null or answers.answer not between items.scale_min and items.scale_max then null
        when items.reverse_keyed then items.scale_min + items.scale_max - answers.answer
        else answers.answer
    end as score,
    answers.answer is not null and answers.answer between items.scale_min and items.scale_max as is_answered
from {{ ref('stg_stress__answers') }} as answers
inner join {{ ref('stg_stress__responses') }} as responses
    on answers.response_id = responses.response_id
inner join {{ ref('stg_stress__items') }} as items
    on answers.item_code = items.item_code
