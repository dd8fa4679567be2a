"""agg_stress_workload: team stress scores next to the team's measured workload (join on team)."""

from callcenter import stress_fingerprint as fp


def model(dbt, session):
    # The workload side comes from the workforce marts (agg_agent_daily, agg_schedule_compliance)
    # through int_stress_team_workload_measured, so its content is part of the fingerprint: a new
    # telephony day inside a wave's workload window changes it and rebuilds this mart.
    inputs = {
        "dimension_mart": dbt.ref("agg_stress_dimension"),
        "team_workload": dbt.ref("int_stress_team_workload_measured"),
    }
    fingerprint = fp.inputs_fingerprint(inputs)
    if fp.unchanged_since_last_build(dbt, session, fingerprint):
        return fp.no_change(dbt, session)
    from callcenter import stress_marts  # pandas/scipy only when the mart really rebuilds

    result = stress_marts.build_workload(inputs["dimension_mart"].df(), inputs["team_workload"].df())
    fp.record_pending(dbt, session, fingerprint, len(result))
    return result
