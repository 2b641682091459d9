"""One Superset instance: its home under the data dir, its config, its secrets, its bootstrap.

Everything it keeps lives in `<data dir>/superset/` (git-ignored, like the rest of data/):

| file | what |
| --- | --- |
| `superset.db` | Superset's metadata database (SQLite): users, the database connection, datasets, charts, dashboards |
| `superset_config.py` | rendered here from the settings on every start (SUPERSET_CONFIG_PATH points at it) |
| `secret_key` | Superset's SECRET_KEY, generated on first start (mode 0600); it encrypts the stored connection password |
| `admin_password` | the admin's password when LAKEHOUSE_SUPERSET_ADMIN_PASSWORD is unset (generated, 0600) |
| `bi_password` | the read-only role's password when LAKEHOUSE_BI_PASSWORD is unset (generated, 0600) |
| `bootstrapped` | what the last bootstrap did, so an unchanged instance starts without it |

Nothing secret is committed: the generated files exist only in the data dir, and the settings
come from the environment or the git-ignored .env. `bootstrap()` runs bi/superset_bootstrap.py
in Superset's venv: database migrations, roles and permissions (`superset db upgrade` +
`superset init`), the admin user.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
from pathlib import Path

from bi import environment
from lakehouse_core.settings import Settings, child_env

BOOTSTRAP_SCRIPT = Path(__file__).resolve().parent / "superset_bootstrap.py"
APP = "superset.app:create_app()"  # what gunicorn serves, and how the service is recognised


class BootstrapFailed(RuntimeError):
    """Superset's migrations, roles or admin could not be set up; the message has its output."""


def home(settings: Settings) -> Path:
    return settings.superset_home


def config_path(settings: Settings) -> Path:
    return home(settings) / "superset_config.py"


def _generated_secret(path: Path, nbytes: int = 32) -> str:
    """The secret in `path`, generated (urlsafe, mode 0600) if the file does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(nbytes) + "\n")
    return path.read_text().strip()


def secret_key_path(settings: Settings) -> Path:
    return home(settings) / "secret_key"


def admin_password(settings: Settings) -> str:
    """LAKEHOUSE_SUPERSET_ADMIN_PASSWORD, else the one generated into the data dir."""
    return settings.superset_admin_password or _generated_secret(home(settings) / "admin_password", 12)


def admin_password_source(settings: Settings) -> str:
    """Where the admin's password comes from, for messages (never the password itself)."""
    if settings.superset_admin_password:
        return "LAKEHOUSE_SUPERSET_ADMIN_PASSWORD"
    return str(home(settings) / "admin_password")


def bi_password(settings: Settings) -> str:
    """The read-only role's password: LAKEHOUSE_BI_PASSWORD, else one generated into the data dir."""
    return settings.bi_password or _generated_secret(home(settings) / "bi_password")


def render_config(settings: Settings) -> str:
    data = home(settings)
    return f'''"""Superset's configuration, rendered by bi/instance.py from the project's settings on every
start: edit it there (or the settings), not here."""

from pathlib import Path

# Generated on first start, never committed; it also encrypts the stored database password.
SECRET_KEY = Path({str(secret_key_path(settings))!r}).read_text().strip()
SQLALCHEMY_DATABASE_URI = {"sqlite:///" + str(data / "superset.db")!r}
DATA_DIR = {str(data / "files")!r}
# The demo's one dashboard needs no cache server and no Celery: Superset's defaults.
FEATURE_FLAGS = {{}}
'''


def write_config(settings: Settings) -> Path:
    _generated_secret(secret_key_path(settings), 48)
    path = config_path(settings)
    (home(settings) / "files").mkdir(parents=True, exist_ok=True)
    text = render_config(settings)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def superset_env(settings: Settings) -> dict[str, str]:
    """The environment of a Superset process: ours, plus its config file."""
    return child_env(SUPERSET_CONFIG_PATH=str(config_path(settings)), FLASK_APP="superset", PYTHONUNBUFFERED="1")


def _bootstrap_stamp(settings: Settings) -> str:
    """What a bootstrap establishes: the installed lock, the admin and its password (hashed)."""
    wanted = "\n".join(
        [
            (settings.superset_venv / environment.STAMP).read_text().strip(),
            settings.superset_admin,
            hashlib.sha256(admin_password(settings).encode()).hexdigest(),
            str(home(settings) / "superset.db"),
        ]
    )
    return hashlib.sha256(wanted.encode()).hexdigest()


def bootstrap(settings: Settings, venv: Path, log_file: Path) -> bool:
    """Migrate Superset's metadata database, sync its roles and permissions, create (or reset
    the password of) the admin. Skipped when nothing changed since the last one; True if it ran."""
    write_config(settings)
    stamp = home(settings) / "bootstrapped"
    wanted = _bootstrap_stamp(settings)
    if stamp.exists() and stamp.read_text().strip() == wanted and (home(settings) / "superset.db").exists():
        return False
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        done = subprocess.run(
            [str(environment.python(venv)), str(BOOTSTRAP_SCRIPT), settings.superset_admin],
            input=admin_password(settings).encode(),
            env=superset_env(settings),
            cwd=home(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if done.returncode != 0:
        raise BootstrapFailed(f"Superset's bootstrap failed (exit {done.returncode}); see {log_file}")
    stamp.write_text(wanted + "\n")
    return True


def server_command(settings: Settings, venv: Path) -> tuple[str, ...]:
    """gunicorn serving Superset: one worker with threads (a dashboard asks for its charts at once)."""
    bind = f"{settings.superset_host}:{settings.superset_port_number}"
    return (
        str(environment.executable(venv, "gunicorn")),
        "--no-control-socket",  # gunicorn 26 would open one shared control socket in ~/.gunicorn
        "--bind", bind,
        "--workers", "1",
        "--worker-class", "gthread",
        "--threads", "8",
        "--timeout", "120",
        APP,
    )  # fmt: skip
