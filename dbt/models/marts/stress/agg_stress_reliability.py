"""agg_stress_reliability: Cronbach's alpha, alpha if item deleted, KMO and Bartlett per wave."""

from callcenter import stress_marts


def model(dbt, session):
    dbt.config(materialized="table")
    settings = stress_marts.Settings.from_frame(dbt.ref("stg_stress__settings").df())
    return stress_marts.build_reliability(
        dbt.ref("int_stress_answers_scored").df(), dbt.ref("stg_stress__items").df(), settings
    )
