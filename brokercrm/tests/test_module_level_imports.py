"""Issue #11: another app's modules are imported at module level; an import of another app inside a function is
left only where Django's app loading forces it, in an `AppConfig.ready()`. (import-linter checks the direction of
every import, function-level ones included; this checks where they stand.)"""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

APPS = ("brokercrm", "teams", "customers", "ledger", "comms", "crm", "imports", "devtools")


def function_level_cross_app_imports(source: str, app: str) -> list[tuple[int, str, str]]:
    """(line, function, module) of each absolute import of another of our apps inside a function but `ready()`."""
    found = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) or fn.name == "ready":
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            found += [(node.lineno, fn.name, m) for m in modules
                      if m.split(".")[0] in APPS and m.split(".")[0] != app]
    return found


def test_the_walker_finds_a_function_level_import_of_another_app():
    source = ("def f():\n    from customers.models import Customer\n    from . import x\n"
              "class C:\n    def ready(self):\n        from crm import handlers\n")
    assert function_level_cross_app_imports(source, "ledger") == [(2, "f", "customers.models")]
    assert function_level_cross_app_imports(source, "customers") == []


def test_other_apps_are_imported_at_module_level():
    base = Path(settings.BASE_DIR)
    offenders = []
    for app in APPS:
        for path in sorted((base / app).rglob("*.py")):
            rel = path.relative_to(base).as_posix()
            if "/tests/" in rel or "/migrations/" in rel:
                continue
            offenders += [f"{rel}:{line} in {fn}(): {module}"
                          for line, fn, module in function_level_cross_app_imports(path.read_text(), app)]
    assert not offenders, "import these at module level (or in AppConfig.ready(), commented):\n" + "\n".join(
        offenders)
