"""Schemathesis over /openapi.json: generated requests to every operation never get a 5xx.

The operations are walked by hand (not `schema.parametrize`): schemathesis's pytest fixture
integration reads a private pytest attribute that pytest 9 no longer has.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES_PER_OPERATION = 12


def test_no_operation_answers_5xx(app, keys):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def probe(case) -> None:
            # An admin of `north` may call everything: generated inputs reach the handlers.
            response = case.call(headers=keys.auth("admin"))
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

        probe()
    assert not failures, failures
