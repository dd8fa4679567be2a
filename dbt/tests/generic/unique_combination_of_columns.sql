-- Fails on every key combination that occurs more than once.
--
-- Scoped to what changed when the build sets CALLCENTER_UNIQUENESS_CHANGED_SINCE and the
-- test names a `changed_since_column` (macros/uniqueness_scope.sql): only the keys of rows changed
-- since then are counted, each against the whole table. Otherwise every key is checked.
{%- test unique_combination_of_columns(
    model, combination_of_columns, changed_since_column=none, changed_partition_column=none
) -%}
select
    {{ combination_of_columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
{{ only_keys_changed_since(model, combination_of_columns, changed_since_column, changed_partition_column) }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}
