-- Fails on every row where the expression is false or null (an invariant per row; column_name
-- is accepted so the test can also sit under a column).
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
