"""agg_stress_dimension: wave x grouping x group value x dimension, suppressed below min_cell_n."""

from callcenter import stress_fingerprint as fp


def model(dbt, session):
    inputs = {
        "settings": dbt.ref("stg_stress__settings"),
        "dimension_scores": dbt.ref("int_stress_dimension_scores_averaged"),
        "response_groups": dbt.ref("int_stress_response_groups_unpivoted"),
        "items": dbt.ref("stg_stress__items"),
    }
    fingerprint = fp.inputs_fingerprint(inputs)
    if fp.unchanged_since_last_build(dbt, session, fingerprint):
        return fp.no_change(dbt, session)
    from callcenter import stress_marts  # pandas/scipy only when the mart really rebuilds

    result = stress_marts.build_dimension(
        inputs["dimension_scores"].df(),
        inputs["response_groups"].df(),
        inputs["items"].df(),
        stress_marts.Settings.from_frame(inputs["settings"].df()),
    )
    fp.record_pending(dbt, session, fingerprint, len(result))
    return result
