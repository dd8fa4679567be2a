"""agg_stress_group_tests: Welch t / one-way ANOVA by demographic over the published groups."""

from callcenter import stress_marts


def model(dbt, session):
    dbt.config(materialized="table")
    settings = stress_marts.Settings.from_frame(dbt.ref("stg_stress__settings").df())
    return stress_marts.build_group_tests(
        dbt.ref("int_stress_dimension_scores_averaged").df(),
        dbt.ref("int_stress_response_groups_unpivoted").df(),
        dbt.ref("agg_stress_dimension").df(),
        settings,
    )
