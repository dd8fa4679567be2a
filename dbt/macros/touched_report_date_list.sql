{#- The report dates touched_report_dates(source_relation) selects, read now and written as a list of
    date literals for an `in (...)` filter (`null` when there are none): a constant filter is
    applied in the scan, where DuckDB could plan the subquery form as a join that reads every row
    of history first (fct_abandoned_stints). Reads at execution only; parsing renders `null`. -#}
{% macro touched_report_date_list(source_relation) -%}
    {%- set dates = dates_of(touched_report_dates(source_relation)) -%}
    {%- for d in dates -%}
        cast('{{ d }}' as date){{ ', ' if not loop.last }}
    {%- else -%}
        null
    {%- endfor -%}
{%- endmacro %}
