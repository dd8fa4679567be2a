"""agg_stress_workload: team stress scores next to the team's measured workload (join on team)."""

from callcenter import stress_marts


def model(dbt, session):
    dbt.config(materialized="table")
    return stress_marts.build_workload(
        dbt.ref("agg_stress_dimension").df(), dbt.ref("int_stress_team_workload_measured").df()
    )
