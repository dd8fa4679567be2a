"""The Dagster asset graph follows the warehouse's layers, and data flows one way through them."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

import dagster_project

# landing -> ingestion -> raw -> staging -> intermediate -> marts -> serving (DESIGN.md, "Style")
LAYER_ORDER = ["ingestion", "seeds", "staging", "intermediate", "marts", "publish"]
# The one deliberate exception (DECISIONLOG, stress survey: "Workload link at team level"): the stress
# survey's workload step reads the workforce marts, so the stress and workforce dashboards agree.
READS_A_LATER_LAYER_BY_DESIGN = {
    ("marts/agg_agent_daily", "intermediate/int_stress_team_workload_measured"),
    ("marts/agg_schedule_compliance", "intermediate/int_stress_team_workload_measured"),
}


def _asset_graph():
    return dg.load_from_defs_folder(
        path_within_project=Path(dagster_project.__path__[0])
    ).resolve_asset_graph()


def test_every_asset_sits_in_a_named_layer():
    graph = _asset_graph()
    groups = {
        graph.get(key).group_name for key in graph.get_all_asset_keys() if graph.get(key).is_materializable
    }
    assert groups == set(LAYER_ORDER)


def test_dbt_models_are_grouped_by_the_schema_they_build():
    graph = _asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable and key.path[0] in ("staging", "intermediate", "marts"):
            assert node.group_name == key.path[0], key


def test_no_asset_reads_from_a_later_layer():
    graph = _asset_graph()
    rank = {name: i for i, name in enumerate(LAYER_ORDER)}
    backwards = []
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        for parent in node.parent_keys:
            parent_node = graph.get(parent)
            if parent_node.is_materializable and rank[parent_node.group_name] > rank[node.group_name]:
                backwards.append((parent.to_user_string(), key.to_user_string()))
    assert set(backwards) == READS_A_LATER_LAYER_BY_DESIGN
