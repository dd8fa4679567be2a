-- Seeds on Spark. Two dbt-spark gaps, worked around here so the seed files stay as they are:
-- 1. the seed files declare column_types for DuckDB, and Spark rejects a bare `varchar` (it needs a
--    length): map it to `string`;
-- 2. the session method pastes bound values into the SQL unescaped (a quote in a seed's text breaks
--    the insert, an empty cell becomes the string 'None'): render escaped literals ourselves.

{% macro spark_seed_model(model) -%}
    {%- set column_types = model['config'].get('column_types') or {} -%}
    {%- for column, type in column_types.items() -%}
        {%- if type | trim | lower in ('varchar', 'text') -%}
            {%- do column_types.update({column: 'string'}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(model) }}
{%- endmacro %}

{% macro spark_seed_literal(value) -%}
    {%- if value is none -%}
        null
    {%- else -%}
        '{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}

{% macro spark__create_csv_table(model, agate_table) -%}
    {{ return(dbt.spark__create_csv_table(spark_seed_model(model), agate_table)) }}
{%- endmacro %}

{% macro spark__load_csv_rows(model, agate_table) -%}
    {%- set column_override = spark_seed_model(model)['config'].get('column_types') or {} -%}
    {%- set column_types = [] -%}
    {%- for column in agate_table.column_names -%}
        {%- do column_types.append(column_override.get(column, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set rows = [] -%}
        {%- for row in chunk -%}
            {%- set values = [] -%}
            {%- for value in row -%}
                {%- do values.append('cast(' ~ spark_seed_literal(value) ~ ' as ' ~ column_types[loop.index0] ~ ')') -%}
            {%- endfor -%}
            {%- do rows.append('(' ~ values | join(', ') ~ ')') -%}
        {%- endfor -%}
        {%- set sql = 'insert into ' ~ this.render() ~ ' values\n' ~ rows | join(',\n') -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{%- endmacro %}
