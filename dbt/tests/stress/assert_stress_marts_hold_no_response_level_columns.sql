-- Privacy rule 3: the stress marts (copied to serving) hold aggregates only - no response ids,
-- agent ids, timestamps of single responses, answers or free text.
{%- set marts = ['agg_stress_wave', 'agg_stress_dimension', 'agg_stress_item', 'agg_stress_reliability',
    'agg_stress_group_tests', 'agg_stress_workload', 'agg_stress_workload_correlation'] %}
select
    table_name,
    column_name
from information_schema.columns
where
    table_schema = '{{ ref("agg_stress_dimension").schema }}'
    and table_name in (
        {%- for m in marts %}'{{ ref(m).identifier }}'{{ ", " if not loop.last }}{% endfor -%}
    )
    and lower(column_name) in (
        'response_id', 'agent_id', 'agent_name', 'submitted_at', 'comment', 'answer', 'score', 'dimension_score'
    )
