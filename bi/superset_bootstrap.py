"""Run by Superset's own Python (never imported by the project): `superset db upgrade`,
`superset init` and `superset fab create-admin` (or a password reset) in one process, so the
app is loaded once instead of three times (~15 s each on a small machine).

    <superset venv>/bin/python bi/superset_bootstrap.py <admin user>   # the password on stdin

SUPERSET_CONFIG_PATH (set by bi/instance.py) names the rendered config.
"""

from __future__ import annotations

import sys


def main(username: str, password: str) -> None:
    from flask_migrate import upgrade
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        upgrade()  # `superset db upgrade`
        from superset import appbuilder, security_manager

        appbuilder.add_permissions(update_perms=True)  # `superset init`
        security_manager.sync_role_definitions()
        user = security_manager.find_user(username=username)
        if user is None:
            admin = security_manager.find_role("Admin")
            created = security_manager.add_user(
                username, "Lakehouse", "Admin", f"{username}@localhost", admin, password=password
            )
            if not created:
                raise SystemExit(f"could not create the Superset admin {username!r}")
            print(f"Superset admin {username!r} created")
        else:
            security_manager.reset_password(user.id, password)
            print(f"Superset admin {username!r}: password set")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.stdin.read().strip())
