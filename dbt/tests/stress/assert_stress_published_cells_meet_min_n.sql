-- Privacy rule 1: no published stress statistic rests on fewer than min_cell_n respondents, no
-- comment count on a group under min_comment_n, and suppressed cells carry no statistics.
with settings as (
    select
        min_cell_n,
        min_comment_n
    from {{ ref('stg_stress__settings') }}
),

violations as (
    select
        'agg_stress_dimension' as mart,
        d.wave,
        d.grouping,
        d.group_value,
        d.dimension_code as measure
    from {{ ref('agg_stress_dimension') }} as d
    cross join settings as s
    where
        (not d.suppressed and (d.n is null or d.n < s.min_cell_n))
        or (d.suppressed and (d.n is not null or d.mean_score is not null or d.high_stress_num is not null))
    union all
    select
        'agg_stress_item' as mart,
        i.wave,
        i.grouping,
        i.group_value,
        i.item_code as measure
    from {{ ref('agg_stress_item') }} as i
    cross join settings as s
    where
        (not i.suppressed and (i.n is null or i.n < s.min_cell_n))
        or (i.suppressed and (i.n is not null or i.mean_score is not null or i.stress_rank is not null))
    union all
    select
        'agg_stress_wave' as mart,
        w.wave,
        w.grouping,
        w.group_value,
        'completion' as measure
    from {{ ref('agg_stress_wave') }} as w
    cross join settings as s
    where
        (not w.suppressed and w.returned < s.min_cell_n)
        or (w.suppressed and (w.completion_num is not null or w.straightlined is not null))
        or (not w.comments_suppressed and w.returned < s.min_comment_n)
        or (w.comments_suppressed and w.comments is not null)
    union all
    select
        'agg_stress_reliability' as mart,
        r.wave,
        r.scope as grouping,
        r.dimension_code as group_value,
        coalesce(r.item_code, 'scale') as measure
    from {{ ref('agg_stress_reliability') }} as r
    cross join settings as s
    where
        (not r.suppressed and (r.n_respondents is null or r.n_respondents < s.min_cell_n))
        or (r.suppressed and (r.alpha is not null or r.kmo is not null or r.alpha_if_item_deleted is not null))
    union all
    select
        'agg_stress_workload' as mart,
        wl.wave,
        'team' as grouping,
        wl.team as group_value,
        wl.dimension_code as measure
    from {{ ref('agg_stress_workload') }} as wl
    cross join settings as s
    where
        (not wl.suppressed and wl.n < s.min_cell_n)
        or (wl.suppressed and (wl.n is not null or wl.mean_score is not null))
)

select * from violations
