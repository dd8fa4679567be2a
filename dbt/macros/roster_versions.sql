-- Agent history is placed by the roster version valid at the time of each fact, not by the current
-- one (DECISIONLOG "Agent history placed by the roster valid that day"): a state episode by the UTC
-- date of its start, a schedule row by its schedule_date (a shift stays at one site), a daily or
-- monthly mart row by its report date / month start. int_agents_historized's versions cover
-- [valid_from, valid_to) without gaps from 1900-01-01, so the join finds at most one version.

{#- Join condition: roster version `alias` (int_agents_historized) is valid on the date `on_date`. -#}
{% macro roster_version_valid_on(alias, on_date) -%}
    {{ on_date }} >= {{ alias }}.valid_from and {{ on_date }} < {{ alias }}.valid_to
{%- endmacro %}
