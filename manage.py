#!/usr/bin/env python
import os
import sys
from pathlib import Path


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liaison.settings")
    configured = any(os.environ.get(name) for name in ("DEBUG", "SECRET_KEY", "SECRET_KEY_FILE"))
    if not configured and not (Path(__file__).resolve().parent / ".env").exists():
        # A checkout with nothing configured is a developer's: run management commands in development
        # mode. Servers (gunicorn, celery) do not pass through here and still fail loudly without secrets.
        os.environ["DEBUG"] = "true"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
