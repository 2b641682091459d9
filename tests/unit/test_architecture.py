"""The house's floors, checked on the source: who may read the environment, who may open HTTP
sessions to Marquez, and which package may import which. A change that breaks one of these
rules fails here, naming the file and line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lakehouse_core.settings import env_example

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lakehouse_core", "orchestration", "lineage", "lineage_ui", "marquez")
# What each package may import of the others: the ground floor nothing, the server only the
# ground floor, the lineage side nothing of the orchestration that uses it.
MAY_IMPORT = {
    "lakehouse_core": set(),
    "marquez": {"lakehouse_core"},
    "lineage": {"lakehouse_core"},
    "lineage_ui": {"lakehouse_core"},
    "orchestration": {"lakehouse_core", "lineage", "marquez", "lineage_ui"},
}
ENVIRONMENT_READER = "lakehouse_core/settings.py"
# Scripts that run before any product module can load, so cannot ask the settings module.
STANDALONE = {
    # `python -I -S` (no site-packages, so no pydantic): it only forwards its own environment to
    # the warm run worker, or execs the venv's dbt with it.
    "orchestration/bin/warm/exec.py",
}
MARQUEZ_CLIENT = "lakehouse_core/marquez.py"


def _modules() -> list[tuple[str, ast.Module]]:
    modules = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            modules.append((relative, ast.parse(path.read_text(), filename=relative)))
    return modules


MODULES = _modules()


def _imports(tree: ast.Module) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_modules_were_found():
    assert len(MODULES) > 50 and {path.split("/")[0] for path, _ in MODULES} == set(PACKAGES)


def test_only_the_settings_module_reads_the_environment():
    readers = []
    for path, tree in MODULES:
        if path in STANDALONE:
            continue
        for node in ast.walk(tree):
            reads = (
                isinstance(node, ast.Attribute)
                and node.attr in ("environ", "getenv", "environb")
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ) or (
                isinstance(node, ast.ImportFrom)
                and node.module == "os"
                and any(alias.name in ("environ", "getenv") for alias in node.names)
            )
            if reads:
                readers.append(f"{path}:{node.lineno}")
    assert readers and all(r.startswith(ENVIRONMENT_READER + ":") for r in readers), [
        r for r in readers if not r.startswith(ENVIRONMENT_READER)
    ]


def test_only_one_module_opens_http_sessions_to_marquez():
    """requests' sessions and calls, and the official Marquez client, live in one module; the
    services' readiness probes of the lineage UI and Dagster (urllib, loopback) are not Marquez."""
    offenders = []
    for path, tree in MODULES:
        if path == MARQUEZ_CLIENT:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "requests"
                and node.attr in ("Session", "get", "post", "put", "delete", "request", "head")
            ):
                offenders.append(f"{path}:{node.lineno} requests.{node.attr}")
        for line, module in _imports(tree):
            if module.split(".")[0] in ("marquez_client", "httpx", "aiohttp", "urllib3"):
                offenders.append(f"{path}:{line} imports {module}")
    assert offenders == []


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_keep_to_their_floor(package):
    allowed = MAY_IMPORT[package] | {package}
    climbing = [
        f"{path}:{line} imports {module}"
        for path, tree in MODULES
        if path.startswith(package + "/")
        for line, module in _imports(tree)
        if module.split(".")[0] in PACKAGES and module.split(".")[0] not in allowed
    ]
    assert climbing == []


def test_env_example_is_rendered_from_the_settings():
    """`.env.example` documents every variable where it is declared: regenerate it with
    `lakehouse settings --env-example > .env.example` after changing lakehouse_core/settings.py."""
    assert (ROOT / ".env.example").read_text() == env_example()
