-- Agent team history (SCD2): one row per agent version, valid on [valid_from, valid_to).
-- Join a fact on agent_id and report_date >= valid_from and report_date < valid_to.
select
    agent_id,
    version_number,
    agent_name,
    team,
    supervisor,
    site_code,
    skills,
    employment_type,
    hire_date,
    end_date,
    first_export_date,
    last_export_date,
    valid_from,
    valid_to,
    is_current
from {{ ref('int_agents_historized') }}
