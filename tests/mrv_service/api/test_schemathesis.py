"""Schemathesis against the app's own OpenAPI document (``/api/v1/openapi.json``).

Every operation of the document is called with requests generated from its schemas, positive
(valid by the document) and negative (invalid), with generated ids and with the ids of the test
organisation's own project, authenticated as an admin of the test organisation. Two checks:
no response is a server error (5xx) and every response conforms to the document (status code
documented, body valid against its schema, content type documented). At least 1,000 requests.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings

schemathesis = pytest.importorskip("schemathesis")

from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.generation.modes import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

MIN_REQUESTS = 1000
"""Generated requests the test must make in total (issue 12, Must show)."""

MAX_EXAMPLES = 60
"""Hypothesis examples per operation and pass (three passes: positive, negative, own ids)."""

CHECKS = [not_a_server_error, response_schema_conformance]


class _QueueOnly:
    """Stands in for the app's Dask run queue: a run started here is recorded (``running``) and
    never executed; this test is about the HTTP contract, the runs' tests run them."""

    def submit(self, *args, **kwargs) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def app(api_env):
    from mrv_service.api import create_app

    app = create_app(api_env["settings"], {"TESTING": True})
    app.extensions["mrv"]["jobs"] = _QueueOnly()
    yield app
    app.extensions["mrv"]["engine"].dispose()


def _passes(operation, own_ids: dict[str, int]):
    """(label, strategy) of each pass over one operation."""
    yield "positive", operation.as_strategy(GenerationMode.POSITIVE)
    yield "negative", operation.as_strategy(GenerationMode.NEGATIVE)
    names = {p.name for p in operation.path_parameters}
    fixed = {k: v for k, v in own_ids.items() if k in names}
    if fixed:
        yield "own ids", operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed)


def _describe(exc: BaseException) -> str:
    """The failures of a Schemathesis failure group (or any exception), shortened."""
    parts = [str(e) for e in getattr(exc, "exceptions", ())] or [f"{type(exc).__name__}: {exc}"]
    return "\n".join(p if len(p) < 1500 else p[:1500] + " ..." for p in parts)


@pytest.mark.slow
def test_openapi_document_holds_under_schemathesis(app, api_env, auth):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = auth("admin")
    with app.app_context():
        from mrv_service.api.db import db_session
        from mrv_service.store.models import Project

        org_id = db_session().get(Project, api_env["projects"]["sample"]).organisation_id
    own_ids = {"project_id": api_env["projects"]["sample"], "organisation_id": org_id}

    calls = 0
    failures: list[str] = []
    operations = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations.append(operation.label)
        for label, strategy in _passes(operation, own_ids):

            @given(case=strategy)
            @settings(
                max_examples=MAX_EXAMPLES,
                derandomize=True,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                nonlocal calls
                calls += 1
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failures, then report
                failures.append(f"{operation.label} ({label}): {_describe(exc)}")

    print(f"schemathesis: {calls} requests over {len(operations)} operations, {len(failures)} failing")
    assert operations, "the OpenAPI document lists no operations"
    assert not failures, f"{len(failures)} failing operation(s):\n\n" + "\n\n".join(failures)
    assert calls >= MIN_REQUESTS, f"only {calls} requests over {len(operations)} operations"
