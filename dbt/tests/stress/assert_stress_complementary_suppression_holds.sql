-- Privacy rule 2: within every breakdown (and within each project group for its teams) the hidden
-- cells are never a single cell and never hold fewer than min_cell_n respondents together, so a
-- published total minus the visible groups cannot isolate a small group. The true n is recomputed
-- here from the intermediate tables, independently of the Python suppression code.
with settings as (
    select min_cell_n from {{ ref('stg_stress__settings') }}
),

groups as (
    select * from {{ ref('int_stress_response_groups_unpivoted') }}
),

team_parents as (
    select
        wave,
        group_value as team,
        min(project_group) as project_group
    from groups
    where grouping = 'team'
    group by wave, group_value
    having count(distinct project_group) = 1
),

dimension_true_n as (
    select
        scores.wave,
        scores.instrument,
        scores.dimension_code as measure,
        groups.grouping,
        groups.group_value,
        count(*) as true_n
    from {{ ref('int_stress_dimension_scores_averaged') }} as scores
    inner join groups
        on scores.response_id = groups.response_id
    where scores.dimension_score is not null
    group by scores.wave, scores.instrument, scores.dimension_code, groups.grouping, groups.group_value
),

item_true_n as (
    select
        answers.wave,
        answers.instrument,
        answers.item_code as measure,
        groups.grouping,
        groups.group_value,
        count(*) as true_n
    from {{ ref('int_stress_answers_scored') }} as answers
    inner join groups
        on answers.response_id = groups.response_id
    where answers.is_answered
    group by answers.wave, answers.instrument, answers.item_code, groups.grouping, groups.group_value
),

cells as (
    select
        'dimension' as mart,
        t.*,
        d.suppressed
    from dimension_true_n as t
    inner join {{ ref('agg_stress_dimension') }} as d
        on
            t.wave = d.wave and t.instrument = d.instrument and t.measure = d.dimension_code
            and t.grouping = d.grouping and t.group_value = d.group_value
    union all
    select
        'item' as mart,
        t.*,
        i.suppressed
    from item_true_n as t
    inner join {{ ref('agg_stress_item') }} as i
        on
            t.wave = i.wave and t.instrument = i.instrument and t.measure = i.item_code
            and t.grouping = i.grouping and t.group_value = i.group_value
),

sibling_sets as (
    -- every breakdown against the wave total
    select
        mart,
        wave,
        instrument,
        measure,
        grouping,
        'all' as parent,
        suppressed,
        true_n
    from cells
    where grouping <> 'all'
    union all
    -- teams against their project group
    select
        cells.mart,
        cells.wave,
        cells.instrument,
        cells.measure,
        cells.grouping,
        team_parents.project_group as parent,
        cells.suppressed,
        cells.true_n
    from cells
    inner join team_parents
        on cells.wave = team_parents.wave and cells.group_value = team_parents.team
    where cells.grouping = 'team'
),

checked as (
    select
        mart,
        wave,
        instrument,
        measure,
        grouping,
        parent,
        sum(case when suppressed then 1 else 0 end) as hidden_cells,
        sum(case when suppressed then true_n else 0 end) as hidden_n,
        sum(case when suppressed then 0 else 1 end) as visible_cells
    from sibling_sets
    group by mart, wave, instrument, measure, grouping, parent
)

select checked.*
from checked
cross join settings
where
    checked.visible_cells > 0
    and checked.hidden_cells > 0
    and (checked.hidden_cells = 1 or checked.hidden_n < settings.min_cell_n)
