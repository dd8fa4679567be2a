-- The local label of a UTC interval start, taken from the DST-safe spine (int_intervals_generated):
-- a join instead of a per-row time-zone conversion. Rows outside the spine's days fall back to the
-- conversion, so the label never goes missing.

{#- The join that brings the spine's label in; `rows_alias` must carry time_zone and interval_start_utc. -#}
{% macro join_interval_spine(rows_alias, spine_alias='sp') -%}
    left join {{ ref('int_intervals_generated') }} as {{ spine_alias }}
        on {{ rows_alias }}.time_zone = {{ spine_alias }}.time_zone
        and {{ rows_alias }}.interval_start_utc = {{ spine_alias }}.interval_start_utc
{%- endmacro %}

{#- The label itself (select expression) once join_interval_spine() has joined the spine. -#}
{% macro interval_start_local_from_spine(rows_alias, spine_alias='sp') -%}
    coalesce(
        {{ spine_alias }}.interval_start_local,
        cast({{ utc_to_local(rows_alias ~ '.interval_start_utc', rows_alias ~ '.time_zone') }} as {{ dbt.type_timestamp() }})
    )
{%- endmacro %}
