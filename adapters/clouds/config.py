"""Reading a cloud's configuration from the environment: shared by the GCE and Azure
profiles. Secrets read here are never logged and never appear in a ``repr``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


class CloudConfigError(Exception):
    """A cloud's configuration is missing or unreadable (raised before any API call)."""


def env_value(env: Mapping[str, str], *names: str) -> str:
    """The first of ``names`` set (non-empty) in ``env``, or ""."""
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return ""


def required_env(env: Mapping[str, str], *names: str) -> str:
    value = env_value(env, *names)
    if not value:
        raise CloudConfigError(f"set {' or '.join(names)}")
    return value


def env_list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated variable as a tuple, empty items dropped."""
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def read_secret_file(path: Path) -> str:
    """The contents of a secret file, stripped; the error names the path, never the content."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CloudConfigError(f"cannot read secret file {path}: {exc.strerror}") from exc
