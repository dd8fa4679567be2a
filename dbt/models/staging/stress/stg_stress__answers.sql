select
    response_id,
    trim(item_code) as item_code,
    cast(answer as integer) as answer
from {{ source('raw', 'stress_answers') }}
