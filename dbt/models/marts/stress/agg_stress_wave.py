"""agg_stress_wave: distributed, returned, response rate, completion, straight-lining per wave."""

from callcenter import stress_marts


def model(dbt, session):
    dbt.config(materialized="table")
    settings = stress_marts.Settings.from_frame(dbt.ref("stg_stress__settings").df())
    return stress_marts.build_wave(
        dbt.ref("int_stress_responses_flagged").df(), dbt.ref("stg_stress__waves").df(), settings
    )
