"""agg_stress_workload_correlation: stress vs workload correlation across published teams."""

from callcenter import stress_marts


def model(dbt, session):
    dbt.config(materialized="table")
    return stress_marts.build_workload_correlation(dbt.ref("agg_stress_workload").df())
