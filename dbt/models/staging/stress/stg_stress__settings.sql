-- Survey analysis and privacy settings (seed stress_settings) as one typed row.
select
    cast(max(case when setting = 'min_cell_n' then value end) as integer) as min_cell_n,
    cast(max(case when setting = 'min_comment_n' then value end) as integer) as min_comment_n,
    cast(max(case when setting = 'significance_level' then value end) as double) as significance_level,
    cast(max(case when setting = 'small_n_flag' then value end) as integer) as small_n_flag,
    cast(max(case when setting = 'ci_level' then value end) as double) as ci_level
from {{ ref('stress_settings') }}
