-- delete+insert on Spark. The incremental marts rebuild whole report dates (macros/incremental.sql) with
-- dbt's delete+insert strategy, which dbt-spark does not offer. These overrides of dbt-spark's own
-- macros accept it: the first build and --full-refresh create the table as usual; an incremental run
-- deletes the touched keys and inserts the new rows, which needs a table format with DELETE
-- (Delta, Iceberg, Hudi: set +file_format for the project on such a cluster, see docs/spark.md).

{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) -%}
    {%- if raw_strategy == 'delete+insert' -%}
        {{ return(raw_strategy) }}
    {%- endif -%}
    {{ return(dbt.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) }}
{%- endmacro %}

{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) -%}
    {%- if strategy != 'delete+insert' -%}
        {{ return(dbt.dbt_spark_get_incremental_sql(
            strategy, source, target, existing, unique_key, incremental_predicates
        )) }}
    {%- endif -%}
    {%- set file_format = config.get('file_format', default='parquet') -%}
    {%- if file_format not in ['delta', 'iceberg', 'hudi'] -%}
        {%- do exceptions.raise_compiler_error(
            'delete+insert on Spark needs file_format delta, iceberg or hudi (got ' ~ file_format
            ~ '); set +file_format for the project, or rebuild with --full-refresh'
        ) -%}
    {%- endif -%}
    {%- if not unique_key -%}
        {%- do exceptions.raise_compiler_error('delete+insert needs a unique_key') -%}
    {%- endif -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- call statement('delete_touched_keys') -%}
        delete from {{ target }}
        where ({{ keys | join(', ') }}) in (select distinct {{ keys | join(', ') }} from {{ source }})
    {%- endcall -%}
    {{ return(get_insert_into_sql(source, target)) }}
{%- endmacro %}
