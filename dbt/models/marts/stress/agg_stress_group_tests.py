"""agg_stress_group_tests: Welch t / one-way ANOVA by demographic over the published groups."""

from callcenter import stress_fingerprint as fp


def model(dbt, session):
    inputs = {
        "settings": dbt.ref("stg_stress__settings"),
        "dimension_scores": dbt.ref("int_stress_dimension_scores_averaged"),
        "response_groups": dbt.ref("int_stress_response_groups_unpivoted"),
        "dimension_mart": dbt.ref("agg_stress_dimension"),
    }
    fingerprint = fp.inputs_fingerprint(inputs)
    if fp.unchanged_since_last_build(dbt, session, fingerprint):
        return fp.no_change(dbt, session)
    from callcenter import stress_marts  # pandas/scipy only when the mart really rebuilds

    result = stress_marts.build_group_tests(
        inputs["dimension_scores"].df(),
        inputs["response_groups"].df(),
        inputs["dimension_mart"].df(),
        stress_marts.Settings.from_frame(inputs["settings"].df()),
    )
    fp.record_pending(dbt, session, fingerprint, len(result))
    return result
