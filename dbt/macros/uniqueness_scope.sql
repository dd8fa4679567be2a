-- The scope of a uniqueness test (tests/generic/unique_combination_of_columns.sql).
--
-- `callcenter build` and Dagster's dbt asset set CALLCENTER_UNIQUENESS_CHANGED_SINCE to the start
-- of the last build whose uniqueness tests all passed, when that build ran the same dbt project
-- (callcenter/pipeline.py, UniquenessScope). A test naming `changed_since_column` then joins the
-- model with the keys of its rows whose column is at or after it, so each of those keys is counted
-- against the whole table: a new day costs its own rows instead of a group-by of all history. With
-- `changed_partition_column` the keys of every row of the partitions (report dates) holding such a
-- row are checked: for a model rebuilt by partition, every row the run wrote. Why no duplicate is
-- missed: DECISIONLOG.md, "Uniqueness tests check what changed". Without it (a plain `dbt build`, a
-- full refresh, a changed dbt project, the first build) this is empty: every key is checked.
-- An environment variable read only when the test runs, not a `--vars` value: dbt re-parses the
-- whole project whenever its vars change (~5 s a build), and this value changes every build.
{% macro only_keys_changed_since(model, key_columns, changed_since_column, changed_partition_column) -%}
    {%- set since = env_var('CALLCENTER_UNIQUENESS_CHANGED_SINCE', '') if execute else '' -%}
    {%- if not (since and changed_since_column) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set keys = key_columns | join(', ') -%}
    {%- set changed = changed_since_column ~ " >= cast('" ~ since ~ "' as " ~ dbt.type_timestamp() ~ ")" -%}
    {%- if changed_partition_column -%}
        {%- set changed = changed_partition_column ~ " in (select " ~ changed_partition_column
            ~ " from " ~ model ~ " where " ~ changed ~ ")" -%}
    {%- endif -%}
    {{ return("inner join (select distinct " ~ keys ~ " from " ~ model ~ " where " ~ changed
        ~ ") as changed_keys using (" ~ keys ~ ")") }}
{%- endmacro %}
