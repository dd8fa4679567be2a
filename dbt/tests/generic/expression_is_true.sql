-- Fails on every row where the expression is false or null (an invariant per row).
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
