"""Issue #11, "every customer-owned queryset in an API view or page comes through the one mechanism": a source walker
over every view module (API views, workspace pages, the client area, exports) that fails when one reads or writes a
customer-owned model (`CustomerOwnedQuerySet`, and `Customer` itself) through `<Model>.objects.…` directly.

Allowed: `<Model>.objects.visible_to(…)` / `.editable_by(…)` (the mechanism), `.none()`, the argument of
`self.scoped(…)` / `scoped_for(…)` (customers.scoping), and a class-level `queryset = …` (scoped by
`ScopedViewMixin.get_queryset`, which crm/tests/test_scoped_views.py checks for every such view). Anything else goes
through a selector (reads) or a service (writes)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.apps import apps
from django.conf import settings

from customers.models import CustomerOwnedQuerySet, CustomerQuerySet

APPS = ("brokercrm", "teams", "customers", "ledger", "comms", "crm", "imports", "devtools")
VIEW_MODULE = re.compile(r"(^|/)(views|\w+_views|ops|clientarea|exports|platform|api)\.py$"
                         r"|/api/(?!urls|\w+_urls)\w+\.py$")
SCOPE_METHODS = {"visible_to", "editable_by", "none"}
SCOPE_CALLS = {"scoped", "scoped_for"}


def _customer_models() -> set[str]:
    return {m.__name__ for m in apps.get_models()
            if isinstance(m._default_manager.all(), CustomerOwnedQuerySet | CustomerQuerySet)}


def _view_modules() -> list[Path]:
    base = Path(settings.BASE_DIR)
    found = []
    for app in APPS:
        for path in sorted((base / app).rglob("*.py")):
            rel = path.relative_to(base).as_posix()
            if "/tests/" in rel or "/migrations/" in rel or "/management/" in rel:
                continue
            if VIEW_MODULE.search(rel):
                found.append(path)
    return found


def _allowed_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes inside `self.scoped(…)` / `scoped_for(…)` arguments and class-level `queryset = …`."""
    allowed: set[int] = set()
    for node in ast.walk(tree):
        roots: list[ast.AST] = []
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in SCOPE_CALLS:
                roots = [*node.args, *(k.value for k in node.keywords)]
        elif isinstance(node, ast.ClassDef):
            roots = [stmt.value for stmt in node.body if isinstance(stmt, ast.Assign)
                     and any(isinstance(t, ast.Name) and t.id == "queryset" for t in stmt.targets)]
        for root in roots:
            allowed.update(id(n) for n in ast.walk(root))
    return allowed


def offenders_in(source: str, models: set[str], name: str = "<source>") -> list[str]:
    tree = ast.parse(source)
    allowed = _allowed_nodes(tree)
    return [f"{name}:{node.lineno}: {node.value.value.id}.objects.{node.attr}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
            and node.value.attr == "objects" and isinstance(node.value.value, ast.Name)
            and node.value.value.id in models and node.attr not in SCOPE_METHODS and id(node) not in allowed]


def test_the_walker_sees_view_modules_and_customer_models():
    models = _customer_models()
    assert {"Customer", "Note", "Activity", "Task", "Transaction", "TradingAccount", "Message", "KycDocument"} <= models
    names = {p.relative_to(settings.BASE_DIR).as_posix() for p in _view_modules()}
    assert {"crm/views.py", "crm/api/views.py", "crm/ops.py", "crm/kyc_views.py", "customers/clientarea.py",
            "customers/exports.py", "comms/views.py", "ledger/api/views.py", "customers/api/platform.py",
            "customers/kyc/api.py"} <= names


def test_the_walker_catches_a_direct_queryset_and_allows_the_mechanism():
    models = _customer_models()
    bad = "def get(request):\n    return Note.objects.filter(customer_id=1)\n"
    assert offenders_in(bad, models) == ["<source>:2: Note.objects.filter"]
    good = ("class V(ScopedViewMixin):\n    queryset = Note.objects.select_related('author')\n"
            "    def get(self):\n        a = self.scoped(Task.objects.select_related('customer'))\n"
            "        return Message.objects.visible_to(self.request.user), Customer.objects.none()\n")
    assert offenders_in(good, models) == []


def test_no_view_module_queries_customer_owned_models_directly():
    models = _customer_models()
    offenders = []
    for path in _view_modules():
        offenders += offenders_in(path.read_text(), models, path.relative_to(settings.BASE_DIR).as_posix())
    assert not offenders, "use visible_to/editable_by, ScopedViewMixin, a selector or a service:\n" + "\n".join(
        offenders)
