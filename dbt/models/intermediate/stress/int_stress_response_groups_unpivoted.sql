-- Response x reporting group (response level: intermediate only). One row per response for the
-- whole wave ('all') and one per demographic breakdown the marts publish.
{%- set groupings = ['project_group', 'team', 'gender', 'age_band', 'education', 'marital_status', 'tenure_band'] %}
select
    response_id,
    wave,
    'all' as grouping,
    'all' as group_value,
    project_group
from {{ ref('int_stress_responses_flagged') }}
{%- for grouping in groupings %}
    union all
    select
        response_id,
        wave,
        '{{ grouping }}' as grouping,
        {{ grouping }} as group_value,
        project_group
    from {{ ref('int_stress_responses_flagged') }}
{%- endfor %}
