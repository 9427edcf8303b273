"""Issue #10, "The schema tells the truth": a bounded schemathesis run against a live server, once per demo role.

Checks: no 5xx (`not_a_server_error`), every response matches its documented schema
(`response_schema_conformance`) and its status code is documented (`status_code_conformance`). The run is
deterministic (fixed seed, no example database), without shrinking and without the stateful phase, so that it
fits CI's time: see docs/readme/security-input.md for the figures.

Not fuzzed:
- `GET /api/crm/accounts/{login}/stream`: Server-Sent Events, a response that never ends by itself (every
  request would wait for the request timeout). Its access rules are tested in crm/tests/test_stream.py.
- `POST /api/auth/token/revoke`: it revokes the run's own token, after which every request is a 401.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

ROLES = ["agent", "manager", "compliance", "admin"]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
SEED = 20261125
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"
EXCLUDED = ["--exclude-operation-id", "crm_accounts_stream", "--exclude-path", "/api/auth/token/revoke"]


def schemathesis_cmd(base: str, token: str) -> list[str]:
    return [str(Path(sys.executable).parent / "schemathesis"), "run", f"{base}/api/schema/",
            "--header", f"Authorization: Token {token}",
            "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--no-shrink",
            "--phases", "examples,fuzzing", "--checks", CHECKS, "--workers", "1",
            "--generation-database", "none", "--request-timeout", "30", "--no-color", *EXCLUDED]


def summary(output: str) -> dict:
    """Operations tested, test cases generated and failures, from the CLI's summary."""
    tested = re.search(r"Tested:\s*(\d+)", output)
    cases = re.search(r"(\d+) generated", output)
    failures = re.search(r"found (\d+) unique failure", output)
    return {"operations": int(tested.group(1)) if tested else None,
            "cases": int(cases.group(1)) if cases else None,
            "failures": int(failures.group(1)) if failures else 0}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_schemathesis_finds_no_server_error_and_no_schema_violation(live_url, demo_committed):
    # Tokens first: fuzzing POST /api/auth/token runs into its rate limit (a documented 429).
    tokens = {}
    for role in ROLES:
        response = httpx.post(f"{live_url}/api/auth/token",
                              json={"email": f"{role}@demo.test", "password": "demo-password"}, timeout=30)
        assert response.status_code == 200, response.text
        tokens[role] = response.json()["token"]
    # The four runs go in parallel (each is one client process with its own seed, role and report): a run spends
    # most of its time waiting on the server, and in sequence they would not fit CI's time.
    started = time.monotonic()
    reports = {role: Path(settings.BASE_DIR) / "var" / f"test-schemathesis-{role}.txt" for role in ROLES}
    runs = {role: subprocess.Popen(schemathesis_cmd(live_url, tokens[role]), stdout=reports[role].open("w"),
                                   stderr=subprocess.STDOUT) for role in ROLES}
    results, failed = {}, []
    try:
        for role, run in runs.items():
            returncode = run.wait(timeout=840)
            output = reports[role].read_text()
            results[role] = {**summary(output), "seconds": round(time.monotonic() - started, 1)}
            if returncode != 0:
                failed.append(f"{role}: exit {returncode}, see {reports[role]}\n{output[-3000:]}")
    finally:
        for run in runs.values():
            if run.poll() is None:
                run.kill()
    total = round(time.monotonic() - started, 1)
    print(f"\nschemathesis ({EXAMPLES} examples per operation, seed {SEED}): {results}; {total} s in all")
    assert not failed, "\n\n".join(failed)
    assert all(r["operations"] and r["cases"] for r in results.values()), results
