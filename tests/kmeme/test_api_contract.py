"""The API keeps its OpenAPI contract: Schemathesis fuzzes every operation against a live server.

Its checks: no response is a server error, and every response (status, headers, body) matches
the schema. Authenticated as a creator, with the demo content loaded so paths find real objects.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from kmeme.demo import demo_load

pytestmark = pytest.mark.django_db(transaction=True)


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(live_server, tmp_path):
    demo_load()
    token = RefreshToken.for_user(User.objects.get(email="creator@kmeme.local")).access_token
    schemathesis = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(  # noqa: S603 - our own test tool with fixed arguments
        [
            str(schemathesis),
            "run",
            f"{live_server.url}/api/schema/?format=json",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--header",
            f"Authorization: Bearer {token}",
            "--max-examples",
            "10",
            "--seed",
            "1",
            "--request-timeout",
            "20",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_COLOR": "1"},
    )
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary
    # Count from the JUnit report, not the summary's wording (its warnings can say "failed" about auth hints).
    suites = [ET.parse(report).getroot() for report in tmp_path.glob("*.xml")]  # noqa: S314 - our own report
    cases = [case for root in suites for case in root.iter("testcase")]
    broken = [case.get("name") for case in cases if case.find("failure") is not None or case.find("error") is not None]
    assert cases and not broken, (broken, summary)
