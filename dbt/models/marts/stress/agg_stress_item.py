"""agg_stress_item: item means and stress ranking per wave and organisational unit."""

from callcenter import stress_marts


def model(dbt, session):
    dbt.config(materialized="table")
    settings = stress_marts.Settings.from_frame(dbt.ref("stg_stress__settings").df())
    return stress_marts.build_item(
        dbt.ref("int_stress_answers_scored").df(),
        dbt.ref("int_stress_response_groups_unpivoted").df(),
        dbt.ref("stg_stress__items").df(),
        settings,
    )
