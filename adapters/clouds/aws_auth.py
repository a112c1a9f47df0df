"""AWS credentials for the libcloud drivers (EC2, S3): explicit, or from the environment.

The usual variables are read: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and, for
temporary credentials, ``AWS_SESSION_TOKEN``. libcloud has no credential chain of its
own (no profiles, no instance metadata), so those are not consulted. Credentials never
appear in a ``repr`` (and so in no log line or traceback that prints one).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field


class MissingCredentialsError(Exception):
    """Neither explicit credentials nor the AWS environment variables are set."""


@dataclass(frozen=True)
class AwsCredentials:
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    session_token: str = field(default="", repr=False)

    def __repr__(self) -> str:
        return "AwsCredentials(<hidden>)"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AwsCredentials:
        """From ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``."""
        env = os.environ if environ is None else environ
        access_key = env.get("AWS_ACCESS_KEY_ID", "")
        secret_key = env.get("AWS_SECRET_ACCESS_KEY", "")
        if not access_key or not secret_key:
            raise MissingCredentialsError(
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )
        return cls(access_key, secret_key, env.get("AWS_SESSION_TOKEN", ""))
