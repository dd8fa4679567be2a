-- The item dictionary (seed stress_items, HR-editable) with its instrument's scoring rules
-- (seed stress_instruments). Dimension order is the first item order of the dimension and every
-- default derives from the scale bounds, so a new instrument is a new dictionary, not new code.
with items as (
    select
        items.instrument,
        items.item_code,
        items.item_order,
        items.dimension_code,
        items.dimension_zh,
        items.dimension_en,
        items.text_zh,
        items.text_en,
        items.reverse_keyed,
        items.scale_min,
        items.scale_max,
        coalesce(instruments.midpoint, (items.scale_min + items.scale_max) / 2.0) as midpoint,
        instruments.high_score_threshold,
        coalesce(instruments.min_answered_share, 0.5) as min_answered_share,
        instruments.straightline_min_items,
        min(items.item_order) over (partition by items.instrument, items.dimension_code) as dimension_order,
        count(*) over (partition by items.instrument, items.dimension_code) as dimension_items,
        count(*) over (partition by items.instrument) as instrument_items
    from {{ ref('stress_items') }} as items
    left join {{ ref('stress_instruments') }} as instruments
        on items.instrument = instruments.instrument
)

select
    instrument,
    item_code,
    item_order,
    dimension_code,
    dimension_zh,
    dimension_en,
    dimension_order,
    text_zh,
    text_en,
    reverse_keyed,
    scale_min,
    scale_max,
    midpoint,
    -- Default: halfway between the midpoint and the top of the scale (4 on a 1-5 scale).
    coalesce(high_score_threshold, (midpoint + scale_max) / 2.0) as high_score_threshold,
    min_answered_share,
    coalesce(straightline_min_items, instrument_items) as straightline_min_items,
    dimension_items,
    instrument_items
from items
