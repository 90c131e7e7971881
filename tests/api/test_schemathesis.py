"""schemathesis against the live OpenAPI document, in-process (ASGI): no 5xx, no answer that
breaks the schema. Bounded (a few derandomized examples per operation) so it runs in well under
two minutes.

Checks: not_a_server_error, status_code_conformance, content_type_conformance,
response_schema_conformance, response_headers_conformance. Not "positive_data_acceptance": a
schema-valid request may still name a period or partner that does not exist (400/404 by design).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cloudsettle.api.app import create_app
from cloudsettle.config import Settings
from cloudsettle.db.migrate import upgrade
from cloudsettle.services import users
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.ingest_service import ingest_file
from cloudsettle.services.settlement_service import settle
from tests.api.conftest import CASE, make_workspace

ADMIN = "st-admin-7f3c"  # a name the fuzzer will not guess, so it cannot revoke its own token
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    root = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite:///{root / 'cloudsettle.db'}"
    upgrade(url)
    ws = make_workspace(root, url)
    hasher = users._hasher
    users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        with ws.unit_of_work() as s:
            load_config_file(s, path=CASE / "config.yaml", actor="setup")
        with ws.unit_of_work() as s:
            ingest_file(
                s, raw_store=ws.raw_store, path=CASE / "lines-2026-10.csv", provider="focus", actor="setup"
            )
        with ws.unit_of_work() as s:
            settle(s, period="2026-10", partner_id=None, actor="operator")
        with ws.unit_of_work() as s:
            users.add_user(s, name=ADMIN, roles=["admin"], password=None, actor="setup")
            token = users.issue_token(s, name=ADMIN, actor="setup").secret
        yield create_app(Settings(workspace=Path(root)), workspace=ws), token
    finally:
        users._hasher = hasher
        ws.close()


def test_api_conforms(api: tuple[Any, str]) -> None:
    """Every operation, a few generated requests each, as the admin (so the handlers run)."""
    app, token = api
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = 0
    statuses: dict[int, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=8,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 30
    assert sum(statuses.values()) >= 3 * operations, statuses  # requests were really sent
    assert any(200 <= code < 300 for code in statuses), statuses  # and some got through to the handlers
    assert not failures, "\n\n".join(failures)
