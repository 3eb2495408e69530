"""Property-based run of the published OpenAPI document against the app (schemathesis):
generated requests, valid and not, must never give a 500 nor a body or status the
document does not describe. The app authenticates as served (a static token file): the
runs send an admin token, and schemathesis's ``ignored_auth`` check also sends none and a
wrong one to every operation the document secures (401 expected)."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from sigverify.service.app import create_app
from sigverify.settings import Settings
from tests.imageapi.demo import DEMO_POLICY, KEYS, Clock, seeded_store
from tests.support.budget import examples

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> object:
    folder: Path = tmp_path_factory.mktemp("schemathesis")
    store = seeded_store(folder / "store.db")
    tokens = folder / "tokens.csv"
    tokens.write_text(f'{TOKEN},schemathesis,u1,"sigverify:admin"\n')
    settings = Settings(
        policy=str(DEMO_POLICY), keys=str(KEYS), store=str(store.path), token_auth_file=str(tokens)
    )
    app = create_app(settings, api=store, clock=Clock())
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


TOKEN = "schemathesis-admin-token"
AUTHORIZATION = {"Authorization": f"Bearer {TOKEN}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    positive_data_acceptance,
    ignored_auth,
]


def test_the_api_keeps_to_its_openapi_document(api_schema: object) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]  # type: ignore[attr-defined]
    assert len(operations) == 7
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=examples(40),
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        )
        def run(case: object) -> None:
            case.call_and_validate(headers=AUTHORIZATION, checks=CHECKS)  # type: ignore[attr-defined]

        run()
