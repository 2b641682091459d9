"""Every command of the README's ```bash blocks, and its ```python blocks, run against a demo-like
lakehouse (a small generated lake, its own DuckDB file, Dagster home, outbox and an empty Marquez;
the session's Postgres), so no documented command fails again.

The commands are read from README.md, so a new one is run without editing this file. A command
that cannot run here is listed in EXAMPLES with the reason, one that runs scaled down in SCALED,
and one whose documented answer is a non-zero exit in EXIT_CODES; a listed command that is no
longer in the README fails the test, so the lists cannot go stale.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import pytest

from lakehouse_core.settings import REPO_ROOT, VENV_BIN

pytestmark = pytest.mark.integration

README = REPO_ROOT / "README.md"

EXAMPLES = {
    "make demo": "installs, starts the services on the user's fixed ports (3000, 5555, 3002) and materializes "
    "300,000 readings; its steps are what this test and tests/integration/test_pipeline_e2e.py run",
    "make test": "runs this very suite",
    "lakehouse up | down | status": "three commands in one line; `up` starts the background services on the "
    "user's fixed ports (tests/integration/test_marquez_service.py starts and stops them on free ports)",
    "lakehouse marquez serve": "a server in the foreground until Ctrl-C (tests/integration/test_marquez_service.py)",
    "lakehouse marquez serve --host 0.0.0.0 --port 5555 --db-url postgresql://marquez@db.internal:5432/marquez":
        "a foreground server on an example database host",
    "lineage diff -m my_pkg.definitions --url http://marquez:5000 --format markdown":
        "an example code location (my_pkg) and Marquez host",
    "make bi": "installs Superset's own 250 MB environment and starts it on :8088 (tests/bi/test_superset.py)",
    "lakehouse up --bi": "starts the background services and Superset on the user's fixed ports (tests/bi)",
    "python -m orchestration.services.superset provision": "needs the Superset that `make bi` starts (tests/bi)",
    "python -m orchestration.services.superset status | down": "two commands in one line, about the Superset "
    "that `make bi` starts (tests/bi)",
}  # fmt: skip

SCALED = {
    "lakehouse-generate --target-rows 5000000 --clean": (
        "lakehouse-generate --target-rows 20000 --clean --no-progress",
        "5,000,000 readings take minutes: the same command at 20,000 (it makes this test's lake)",
    ),
}

# Dagster 1.13's own notice, printed before the project loads, that `dg` supersedes these
# (README, Troubleshooting); `lakehouse materialize` / `backfill` do not print it.
SUPERSEDED = ("dagster asset materialize", "dagster job execute")

# Colour codes in a pipe that are not the product's to switch off: the code server `dagster
# schedule ...` starts logs through Dagster's own formatter (coloured whatever the stream), and
# dbt run by hand colours by default (`--no-use-colors` / DBT_USE_COLORS=false turn it off).
OWN_COLOURS = ("dagster schedule", "cd dbt && dbt")

EXIT_CODES = {
    "lineage diff --format json --fail-on warning": ({0, 1}, "exit 1 is its documented answer to a warning"),
}


def _strip_comment(line: str) -> str:
    """The line without its shell comment: a `#` at the start or after a blank, outside quotes."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def readme_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(), re.S | re.M)


def readme_commands() -> list[str]:
    """Each command of the README's bash blocks, in order (continuation lines joined)."""
    commands: list[str] = []
    for block in readme_blocks("bash"):
        pending = ""
        for line in block.splitlines():
            text = _strip_comment(line).rstrip()
            if text.endswith("\\"):
                pending += text[:-1] + " "
                continue
            command = " ".join((pending + text).split())
            pending = ""
            if command:
                commands.append(command)
    return commands


def test_readme_lists_are_current():
    commands = set(readme_commands())
    for listed in (EXAMPLES, SCALED, EXIT_CODES):
        stale = set(listed) - commands
        assert not stale, f"no longer in the README (remove them here): {sorted(stale)}"
    assert len(commands) > 20  # the parser found the blocks


@pytest.fixture(scope="module")
def demo_like(settings, postgres, tmp_path_factory, marquez_factory):
    """The environment a user has after activating the venv and `export DAGSTER_HOME=...`: a lake,
    DuckDB file, Dagster home and outbox of this test's own, an empty Marquez, the session's
    Postgres. Commands run from a folder with `dbt` beside them, as from the repo root."""
    from orchestration.services.dagster_dev import prepare_dagster_home

    root = tmp_path_factory.mktemp("readme")
    marquez = marquez_factory.start()
    config = root / "openlineage.yml"
    config.write_text(f"transport:\n  type: lineage.transport.OutboxTransport\n  path: {root / 'outbox.sqlite3'}\n")
    workdir = root / "checkout"
    workdir.mkdir()
    (workdir / "dbt").symlink_to(REPO_ROOT / "dbt")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LAKEHOUSE_RAW_DIR", str(root / "raw"))
        env.setenv("LAKEHOUSE_DUCKDB_PATH", str(root / "lakehouse.duckdb"))
        env.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        env.setenv("OPENLINEAGE_CONFIG", str(config))
        env.setenv("MARQUEZ_URL", marquez.url)
        # dbt by hand (`cd dbt && dbt run`) writes its target and logs here, not into the checkout.
        env.setenv("DBT_TARGET_PATH", str(root / "dbt-target"))
        env.setenv("DBT_LOG_PATH", str(root / "dbt-logs"))
        env.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        env.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")  # the activated venv
        # Should a new command start background services, they get free ports, never the user's
        # (3000, 3002, 8088), and are stopped when the module ends.
        for variable in ("DAGSTER_PORT", "LINEAGE_UI_PORT", "LAKEHOUSE_SUPERSET_PORT"):
            env.setenv(variable, str(_free_port()))
        from lakehouse_core.settings import get_settings

        prepare_dagster_home(get_settings())
        from orchestration.datagen import generate_bioreactor_data

        generate_bioreactor_data(root / "raw", target_rows=20_000)  # what SCALED's command makes
        try:
            yield {"root": root, "cwd": workdir, "env": dict(os.environ)}
        finally:
            _stop_background_services(get_settings())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop_background_services(settings) -> None:
    """What a command may have started in the background (never the session's Postgres)."""
    import importlib

    for name in ("dagster_dev", "lineage_ui", "lineage_delivery", "superset"):
        try:
            importlib.import_module(f"orchestration.services.{name}").stop(settings)
        except (ImportError, AttributeError):
            continue


def _run(command: str, lake: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", command], cwd=lake["cwd"], env=lake["env"], capture_output=True, text=True, timeout=1200
    )


def test_every_readme_command_runs(demo_like):
    failures, ran = [], []
    for command in readme_commands():
        if command in EXAMPLES:
            continue
        runnable = SCALED.get(command, (command, ""))[0]
        allowed = EXIT_CODES.get(command, ({0}, ""))[0]
        done = _run(runnable, demo_like)
        ran.append(runnable)
        output = done.stdout + done.stderr
        if done.returncode not in allowed:
            failures.append(f"$ {runnable}\nexit {done.returncode}\n{output[-3000:]}")
        elif re.search(r"Traceback \(most recent call last\)", output):
            failures.append(f"$ {runnable}\nexit 0 but a traceback:\n{output[-3000:]}")
        elif "\x1b[" in output and not runnable.startswith(OWN_COLOURS):
            # What the product runs prints no colour codes into a pipe (its dbt children have
            # them off: Settings.dbt_env).
            failures.append(f"$ {runnable}\ncolour codes in piped output:\n{output[-1500:]!r}")
        elif "BetaWarning" in output or ("SupersessionWarning" in output and not runnable.startswith(SUPERSEDED)):
            failures.append(f"$ {runnable}\nwarns:\n{output[-1500:]}")
    assert ran, "no command ran"
    assert not failures, "\n\n".join(failures)


def test_readme_python_runs(demo_like):
    """The README's Python (the seed's `materialize([dbt_staging_models, dbt_curated_models])`)."""
    blocks = readme_blocks("python")
    assert any("materialize(" in block for block in blocks)
    # Its selections read the raw asset's days as they are: materialized first, as a user would.
    raw = _run("lakehouse materialize raw_bioreactor_data 2025-01-01...2025-01-03", demo_like)
    assert raw.returncode == 0, raw.stderr[-3000:]
    for block in blocks:
        done = subprocess.run(
            [sys.executable, "-c", block], cwd=demo_like["cwd"], env=demo_like["env"],
            capture_output=True, text=True, timeout=1200,
        )  # fmt: skip
        assert done.returncode == 0, block + "\n" + (done.stdout + done.stderr)[-5000:]
