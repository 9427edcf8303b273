"""One error root (issue #11): every domain error is a `DomainError` subclass whose code and status are declared on
the class and listed in docs/API.md's error-code table; no code is set on an instance."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from django.conf import settings

from brokercrm.errors import DomainError

APPS = ("brokercrm", "teams", "customers", "ledger", "comms", "crm", "imports")
SKIP = re.compile(r"\.(tests|migrations|management)(\.|$)|\.(asgi|wsgi|celery|settings\w*)$")


def _import_all() -> None:
    for app in APPS:
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{app}."):
            if not SKIP.search(info.name):
                importlib.import_module(info.name)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _documented() -> dict[str, set[int]]:
    """code → statuses, from the error-code table of docs/API.md."""
    text = (Path(settings.BASE_DIR) / "docs" / "API.md").read_text()
    table = text.split("## Error codes", 1)[1]
    codes: dict[str, set[int]] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[1].isdigit():
            continue
        statuses = {int(cells[1]), *map(int, re.findall(r"\b([45]\d\d)\b", cells[2]))}
        for code in re.findall(r"`([a-z_]+)`", cells[0]):
            codes.setdefault(code, set()).update(statuses)
    return codes


def test_every_domain_error_declares_a_documented_code_and_status():
    _import_all()
    documented = _documented()
    classes = [DomainError, *_subclasses(DomainError)]
    assert len(classes) > 20, "the walk found too few domain errors: did the import of the apps fail?"
    problems = []
    for cls in classes:
        name = f"{cls.__module__}.{cls.__qualname__}"
        if not isinstance(cls.code, str) or not isinstance(cls.status, int):
            problems.append(f"{name}: no code/status on the class")
        elif cls.code not in documented:
            problems.append(f"{name}: code {cls.code!r} is not in docs/API.md's error-code table")
        elif cls.status not in documented[cls.code]:
            problems.append(f"{name}: status {cls.status} is not the documented {sorted(documented[cls.code])} "
                            f"for {cls.code!r}")
    assert not problems, "\n".join(problems)


def test_codes_are_not_set_on_instances():
    """The constructor takes a detail (and fields, headers), never a code or a status."""
    with pytest.raises(TypeError):
        DomainError("x", code="conflict")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        DomainError("x", status=409)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        type("Broken", (DomainError,), {"code": None})


def test_no_code_is_assigned_after_construction_in_the_sources():
    """`error.code = …` used to turn one class into several codes; a subclass per code replaces it."""
    pattern = re.compile(r"^\s*\w+\.(code|status)\s*=\s*[\"'0-9]", re.M)
    offenders = []
    for app in APPS:
        for path in (Path(settings.BASE_DIR) / app).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            for match in pattern.finditer(path.read_text()):
                line = match.group(0).strip()
                if not line.startswith(("self.status_code", "row.status", "task.status", "run.status")):
                    offenders.append(f"{path.relative_to(settings.BASE_DIR)}: {line}")
    assert not offenders, offenders
