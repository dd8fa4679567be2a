-- One anonymous response. The free-text comment is reduced to a flag here: comment text never
-- leaves raw, only counts of comments are published (docs/stress-survey.md, privacy rules).
select
    response_id,
    wave,
    submitted_at,
    nullif(trim(project_group), '') as project_group,
    nullif(trim(team), '') as team,
    nullif(trim(gender), '') as gender,
    nullif(trim(age_band), '') as age_band,
    nullif(trim(education), '') as education,
    nullif(trim(marital_status), '') as marital_status,
    nullif(trim(tenure_band), '') as tenure_band,
    coalesce(nullif(trim(comment), '') is not null, false) as has_comment
from {{ source('raw', 'stress_responses') }}
