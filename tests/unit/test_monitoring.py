"""Monitoring config: the alert rules pass their promtool tests, and every metric a rule or dashboard names is
one the code exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import sgs.connectors.gateway.metrics
import sgs.streams.metrics
import sgs.web.metrics  # noqa: F401 - imported for the metrics they register

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "rules" / "sgs.rules.yml"
METRIC = re.compile(r"\bsgs_[a-z_]+\b")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: install Debian's prometheus package (`make test` does with CI=true)"
    return found


def exported() -> set[str]:
    names: set[str] = set()
    for family in REGISTRY.collect():
        if family.name.startswith("sgs_"):
            names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return names


def rule_expressions() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    exprs = []
    for path in (DEPLOY / "grafana" / "dashboards").glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            exprs += [target["expr"] for target in panel["targets"]]
    return exprs


TESTS = sorted((DEPLOY / "prometheus" / "tests").glob("*.test.yml"))


def test_every_alert_rule_passes_its_promtool_unit_tests() -> None:
    command = [promtool(), "test", "rules", *map(str, TESTS)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_rule_has_a_test() -> None:
    tested = "".join(path.read_text() for path in TESTS)
    groups = yaml.safe_load(RULES.read_text())["groups"]
    for rule in (rule for group in groups for rule in group["rules"]):
        assert f"alertname: {rule['alert']}" in tested, f"{rule['alert']} has no promtool test"


def test_the_prometheus_configs_are_valid() -> None:
    for config in ("prometheus.yml", "cluster.yml"):
        path = DEPLOY / "prometheus" / config
        done = subprocess.run([promtool(), "check", "config", str(path)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def test_rules_and_dashboards_name_only_metrics_the_code_exports() -> None:
    known = exported()
    used = {name for expr in rule_expressions() + dashboard_expressions() for name in METRIC.findall(expr)}
    assert used, "no sgs metric found in the rules and dashboards"
    assert used <= known, f"not exported by any sgs process: {sorted(used - known)}"


def test_open_deadline_series_of_departments_that_moved_away_are_removed() -> None:
    from sgs.streams.metrics import report_open

    def value(department: str, state: str) -> float | None:
        return REGISTRY.get_sample_value("sgs_deadlines_open", {"department": department, "state": state})

    reported = report_open({("甲", "overdue"): 1, ("乙", "pending"): 2}, set())
    assert value("甲", "overdue") == 1 and value("乙", "pending") == 2
    # A rebalance: the worker's alarms are rebuilt without 甲's partition.
    reported = report_open({("乙", "pending"): 3}, reported)
    assert value("甲", "overdue") is None and value("乙", "pending") == 3
    report_open({}, reported)
