import pytest

from pipeline.config import ConfigError, load_config
from pipeline.topology import Topology, TopologyError


def test_topology_distances_follow_edge_directions():
    topo = Topology.from_dict(
        {
            "services": {"a": {"depends_on": ["b"]}, "b": {"depends_on": ["c"]}, "c": {}},
            "resources": {"b-1": {"service": "b", "node": "n1"}, "x-1": {"node": "n1"}},
        }
    )
    assert topo.downstream("a", 2) == {"b": 1, "c": 2}
    assert topo.downstream("a", 1) == {"b": 1}
    assert topo.upstream("c", 3) == {"b": 1, "a": 2}
    assert topo.service_of("b-1") == "b" and topo.node_of("b-1") == "n1"
    assert topo.is_node("n1") and not topo.is_node("b-1")
    assert topo.is_entry("a") and not topo.is_entry("c")


def test_dependencies_on_unlisted_services_are_added():
    topo = Topology.from_dict({"services": {"a": {"depends_on": ["ghost"]}}})
    assert "ghost" in topo and topo.upstream("ghost", 1) == {"a": 1}


@pytest.mark.parametrize(
    "doc",
    [
        ["not", "a", "mapping"],
        {"services": ["a"]},
        {"services": {"a": {"depends_on": "b"}}},
        {"services": {"a": {"criticality": "extreme"}}},
        {"resources": {"r": "b"}},
    ],
)
def test_bad_topologies_are_rejected_with_a_reason(doc):
    with pytest.raises(TopologyError):
        Topology.from_dict(doc)


def test_config_defaults_load_and_overrides_merge():
    cfg = load_config(overrides={"correlation": {"window_s": 120}})
    assert cfg.correlation.window_s == 120
    assert cfg.correlation.max_hops == load_config().correlation.max_hops


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"correlation": {"windw_s": 1}}, "correlation.windw_s"),
        ({"incidents": {"open_min_severity": "huge"}}, "open_min_severity"),
        ({"correlation": {"window_s": -5}}, "window_s"),
        ({"silences": [{"matchers": ['a="b"'], "starts_at": "yesterday"}]}, "starts_at"),
    ],
)
def test_bad_config_names_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(overrides=override)


def test_config_file_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("correlation: [1, 2")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
