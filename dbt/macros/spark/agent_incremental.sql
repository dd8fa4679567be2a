-- The agent chain's build log on Spark (macros/agent_incremental.sql): a table needs a data source
-- format (without USING, Spark would create a Hive table, which needs Hive support). It only ever
-- receives inserts, so the model's file format (parquet unless the project sets +file_format) serves.

{% macro spark__agent_build_log_ddl(relation) -%}
    create table if not exists {{ relation }} (
        model_name {{ dbt.type_string() }},
        invocation_id {{ dbt.type_string() }},
        entry {{ dbt.type_string() }},
        report_date date,
        logged_at {{ dbt.type_timestamp() }}
    ) using {{ config.get('file_format', 'parquet') }}
{%- endmacro %}
