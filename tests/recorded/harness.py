"""Access to libcloud's own test harness, which ships inside the installed package.

``libcloud.test`` is not meant to be imported from outside libcloud's source tree: its
modules import ``libcloud.test.secrets``, which libcloud's developers create by copying
``secrets.py-dist`` (the dummy credentials its recordings were made with). The wheel
ships only the ``-dist`` file, so :func:`libcloud_test_module` loads it under that name
first, in memory. ``MockHttp`` also needs ``requests-mock``.

Mock classes are per test: :func:`per_world` makes a subclass bound to one world object,
so no test changes a class another test uses (libcloud's own tests set
``Driver.connectionCls.conn_class`` globally).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from string import Template
from types import ModuleType
from typing import Any

import libcloud.test

RECORDED = Path(__file__).resolve().parent.parent / "data" / "recorded"
LIBCLOUD_TEST = Path(libcloud.test.__file__).resolve().parent

_SECRETS = "libcloud.test.secrets"


def _install_secrets() -> None:
    if _SECRETS in sys.modules:
        return
    if importlib.util.find_spec(_SECRETS) is not None:  # a libcloud source checkout
        importlib.import_module(_SECRETS)
        return
    dist = LIBCLOUD_TEST / "secrets.py-dist"
    loader = importlib.machinery.SourceFileLoader(_SECRETS, str(dist))
    spec = importlib.util.spec_from_loader(_SECRETS, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    sys.modules[_SECRETS] = module


def libcloud_test_module(name: str) -> ModuleType:
    """``libcloud.test.<name>`` (e.g. ``compute.test_gce``), importable from outside."""
    _install_secrets()
    return importlib.import_module(f"libcloud.test.{name}")


def recorded(provider: str, fixture: str, /, **values: str) -> str:
    """Our recorded payload ``tests/data/recorded/<provider>/<name>`` with its
    ``$placeholders`` filled in."""
    text = (RECORDED / provider / fixture).read_text(encoding="utf-8")
    return Template(text).substitute(values) if values else text


def per_world(base: type[Any], world: object, name: str) -> type[Any]:
    """A subclass of the mock HTTP class ``base`` whose instances share ``world``."""
    return type(name, (base,), {"world": world, "__test__": False})
