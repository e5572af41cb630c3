"""docker-compose.yml cannot run here (no Docker engine), so its structure is checked instead."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from sgs.config import ENV_PREFIX, Settings
from sgs.deploy.local.artifacts import pinned_versions

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def services() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose()["services"]
    return result


def test_cluster_has_three_brokers_a_registry_elasticsearch_and_the_worker() -> None:
    assert set(services()) >= {"kafka-1", "kafka-2", "kafka-3", "registry", "elasticsearch", "worker"}


def test_every_image_is_pinned_to_the_versions_of_the_local_stack() -> None:
    versions = pinned_versions()
    expected = {
        "apache/kafka": versions.kafka,
        "docker.elastic.co/elasticsearch/elasticsearch": versions.elasticsearch,
        "apicurio/apicurio-registry": versions.apicurio,
    }
    for name, service in services().items():
        image, _, tag = service["image"].rpartition(":")
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{name}: image {service['image']} is not pinned"
        if image in expected:
            assert tag == expected[image], f"{name}: {tag} differs from deploy/local/pom.xml ({expected[image]})"


def test_kraft_quorum_names_all_three_brokers_with_distinct_ids() -> None:
    brokers = {name: s["environment"] for name, s in services().items() if name.startswith("kafka-")}
    voters = {env["KAFKA_CONTROLLER_QUORUM_VOTERS"] for env in brokers.values()}
    assert voters == {"1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"}
    assert sorted(env["KAFKA_NODE_ID"] for env in brokers.values()) == [1, 2, 3]
    for name, env in brokers.items():
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == 2


def test_every_service_has_a_health_check_and_stateful_ones_a_volume() -> None:
    for name, service in services().items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    for name in ("kafka-1", "kafka-2", "kafka-3", "elasticsearch", "worker"):
        volumes = services()[name]["volumes"]
        assert all(v.split(":")[0] in compose()["volumes"] for v in volumes), name


def test_sgs_variables_are_settings_the_code_reads() -> None:
    known = {ENV_PREFIX + f.name.upper() for f in dataclasses.fields(Settings)}
    for name, service in services().items():
        env = {k: str(v) for k, v in (service.get("environment") or {}).items() if k.startswith(ENV_PREFIX)}
        assert set(env) <= known, f"{name}: {sorted(set(env) - known)} are read by nothing"
        if env:
            settings = Settings.from_env(env)
            assert settings.kafka_servers == "kafka-1:9092,kafka-2:9092,kafka-3:9092"
            assert settings.registry.endswith("/apis/ccompat/v7")
