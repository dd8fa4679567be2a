"""agg_stress_wave: distributed, returned, response rate, completion, straight-lining per wave."""

from callcenter import stress_fingerprint as fp


def model(dbt, session):
    inputs = {
        "settings": dbt.ref("stg_stress__settings"),
        "responses": dbt.ref("int_stress_responses_flagged"),
        "waves": dbt.ref("stg_stress__waves"),
    }
    fingerprint = fp.inputs_fingerprint(inputs)
    if fp.unchanged_since_last_build(dbt, session, fingerprint):
        return fp.no_change(dbt, session)
    from callcenter import stress_marts  # pandas/scipy only when the mart really rebuilds

    result = stress_marts.build_wave(
        inputs["responses"].df(),
        inputs["waves"].df(),
        stress_marts.Settings.from_frame(inputs["settings"].df()),
    )
    fp.record_pending(dbt, session, fingerprint, len(result))
    return result
