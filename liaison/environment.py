"""Where settings come from: the checkout's paths and the environment (a `.env` file in development), read by
liaison/settings.py (Django and the services) and liaison/domain_settings.py (Liaison's own)."""

from __future__ import annotations

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LIAISON_VAR_DIR", BASE_DIR / "var"))

env = environ.Env()
env.smart_cast = False
if (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"))


def secret(name: str, default: str | None = None) -> str | None:
    """Read NAME, or the contents of the file named by NAME_FILE (for container secrets)."""
    file_name = env.str(f"{name}_FILE", default="")
    if file_name:
        return Path(file_name).read_text().strip()
    return env.str(name, default=default)
