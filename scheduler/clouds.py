"""Which clouds ``skybatch serve`` buys from: the local one, and real ones by name.

Each real cloud is configured from the environment (credentials never come from a
file skybatch writes, never go to the database, never into a node's user data):

- ``aws``: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` (``AWS_SESSION_TOKEN``),
  ``SKYBATCH_AWS_REGION`` (default us-east-1), ``SKYBATCH_AWS_AMI`` (required),
  ``SKYBATCH_AWS_ZONES`` and ``SKYBATCH_AWS_INSTANCE_TYPES`` (comma-separated, optional),
  ``SKYBATCH_AWS_ENDPOINT`` (``http://host:port`` of an EC2-compatible endpoint);
- ``gce``: see :meth:`adapters.clouds.gce.GCEConfig.from_env`;
- ``azure``: see :meth:`adapters.clouds.azure.AzureConfig.from_env`.

Quotas, per cloud: ``SKYBATCH_<CLOUD>_QUOTAS`` = ``pool=amount,...``, e.g.
``aws/us-east-1/vcpu=256,aws/us-east-1/spot-vcpu=64``. A pool not listed is unlimited
to the planner (the cloud's own quota errors then teach it the real limit).
See docs/clouds.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from adapters.base import AuthError, CloudError, CloudPort, QuotaLimit
from adapters.clouds.azure import AzureConfig, make_azure_cloud
from adapters.clouds.config import CloudConfigError, env_list, env_value
from adapters.clouds.ec2 import Ec2Config, make_ec2_cloud
from adapters.clouds.gce import GCEConfig, make_gce_cloud
from scheduler.errors import InvalidArgument, SkybatchError

REAL_CLOUDS = ("aws", "gce", "azure")
KNOWN_CLOUDS = ("local", *REAL_CLOUDS)


def quotas_from_env(env: Mapping[str, str], cloud: str) -> tuple[QuotaLimit, ...]:
    name = f"SKYBATCH_{cloud.upper()}_QUOTAS"
    out = []
    for item in env_list(env, name):
        pool, sep, amount = item.partition("=")
        try:
            value = float(amount)
        except ValueError:
            value = -1.0
        if not sep or not pool.strip() or value < 0:
            raise InvalidArgument(name, f"expected pool=amount, got {item!r}")
        out.append(QuotaLimit(pool.strip(), value))
    return tuple(out)


def real_cloud(name: str, environ: Mapping[str, str] | None = None) -> CloudPort:
    """The port of real cloud ``name``, configured from ``environ``. Makes no API call
    for AWS and Azure; GCE fetches an OAuth token."""
    env = os.environ if environ is None else environ
    quotas = quotas_from_env(env, name)
    try:
        if name == "aws":
            ami = env_value(env, "SKYBATCH_AWS_AMI")
            if not ami:
                raise CloudConfigError("set SKYBATCH_AWS_AMI (the image nodes boot from)")
            endpoint = urlsplit(env_value(env, "SKYBATCH_AWS_ENDPOINT"))
            config = Ec2Config(
                ami=ami,
                region=env_value(env, "SKYBATCH_AWS_REGION") or "us-east-1",
                zones=env_list(env, "SKYBATCH_AWS_ZONES"),
                instance_types=env_list(env, "SKYBATCH_AWS_INSTANCE_TYPES"),
                quotas=quotas,
                host=endpoint.hostname,
                port=endpoint.port,
                secure=endpoint.scheme != "http",
            )
            return make_ec2_cloud(config, environ=env)
        if name == "gce":
            return make_gce_cloud(GCEConfig.from_env(env, quotas=quotas))
        if name == "azure":
            return make_azure_cloud(AzureConfig.from_env(env, quotas=quotas))
    except (CloudConfigError, AuthError) as exc:
        raise InvalidArgument(f"cloud {name}", str(exc)) from None
    except CloudError as exc:
        raise SkybatchError(f"cloud {name}: {exc}") from None
    raise InvalidArgument("--cloud", f"unknown cloud {name!r} (known: {', '.join(KNOWN_CLOUDS)})")


def check_names(names: Sequence[str]) -> tuple[str, ...]:
    unknown = [n for n in names if n not in KNOWN_CLOUDS]
    if unknown:
        raise InvalidArgument(
            "--cloud", f"unknown cloud {unknown[0]!r} (known: {', '.join(KNOWN_CLOUDS)})"
        )
    if not names:
        raise InvalidArgument("--cloud", "name at least one cloud")
    return tuple(dict.fromkeys(names))
