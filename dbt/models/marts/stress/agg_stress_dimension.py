"""agg_stress_dimension: wave x grouping x group value x dimension, suppressed below min_cell_n."""

from callcenter import stress_marts


def model(dbt, session):
    dbt.config(materialized="table")
    settings = stress_marts.Settings.from_frame(dbt.ref("stg_stress__settings").df())
    return stress_marts.build_dimension(
        dbt.ref("int_stress_dimension_scores_averaged").df(),
        dbt.ref("int_stress_response_groups_unpivoted").df(),
        dbt.ref("stg_stress__items").df(),
        settings,
    )
