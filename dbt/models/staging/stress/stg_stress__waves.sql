select
    wave,
    trim(project_group) as project_group,
    cast(distributed as integer) as distributed
from {{ source('raw', 'survey_waves') }}
