"""deploy/prometheus/alerts.yml: valid YAML in Prometheus's rule-file shape, every metric it names is exported by
/metrics, and each rule's threshold and window are those of the app's own rule (operations.alerts)."""

from __future__ import annotations

import re

import pytest
import yaml
from django.conf import settings
from django.test import Client

from operations.alerts import RULES_BY_NAME
from operations.metrics import business_collector
from tests.operations.conftest import SCRAPE_TOKEN

RULES_FILE = settings.BASE_DIR / "deploy" / "prometheus" / "alerts.yml"
# Prometheus alert → (the app's rule, the threshold and window as written in the expression).
SAME_AS = {
    "KmemeApiLatencyP95High": ("api_latency_p95", "> 0.5", "[15m]"),
    "KmemeGeminiErrorRateHigh": ("gemini_error_rate", "> 0.05", 'window="15m"'),
    "KmemeNodeCreationSuccessLow": ("node_creation_success_rate", "< 0.95", 'window="1h"'),
    "KmemeKSuccessConversionLow": ("ksuccess_conversion", "< 0.05", 'window="30d"'),
    "KmemeJobKeepsFailing": ("job_keeps_failing", ">= 3", 'window="1h"'),
}
METRIC = re.compile(r"\b((?:kmeme|django)_[a-z0-9_]+)\b")


def _rules() -> list[dict]:
    document = yaml.safe_load(RULES_FILE.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_the_file_has_one_rule_per_app_rule_with_the_same_threshold_and_window():
    rules = _rules()
    assert {rule["alert"] for rule in rules} == set(SAME_AS)
    assert {name for name, _, _ in SAME_AS.values()} == set(RULES_BY_NAME)
    for rule in rules:
        name, threshold, window = SAME_AS[rule["alert"]]
        app_rule = RULES_BY_NAME[name]
        assert threshold == f"{app_rule.comparison} {app_rule.threshold:g}"
        assert threshold in rule["expr"] and window in rule["expr"], rule["alert"]
        if app_rule.needs_sample:
            assert f">= {settings.ALERT_MIN_SAMPLE}" in rule["expr"], rule["alert"]
        assert rule["annotations"]["summary"]


@pytest.mark.django_db
def test_every_metric_the_rules_use_is_exported(settings):
    settings.METRICS_TOKEN = SCRAPE_TOKEN
    client = Client()
    client.get("/api/v1/nodes")  # so the per-view histogram has a series
    business_collector.forget()
    exported = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {SCRAPE_TOKEN}").content.decode()
    families = set(re.findall(r"^# TYPE (\S+) ", exported, re.MULTILINE))
    for rule in _rules():
        for metric in METRIC.findall(rule["expr"]):
            base = re.sub(r"_(bucket|count|sum)$", "", metric)
            assert metric in families or base in families, f"{rule['alert']} uses {metric}, which /metrics lacks"
            if base != metric:
                assert re.search(rf"^{metric}\{{[^}}]*view=\"v1:", exported, re.MULTILINE), metric
