"""TLS material for the server (certificate, key, optional client CA: mutual TLS; the
client certificate handed to worker nodes) and for clients (the CA to trust, an
optional client certificate), read from PEM files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc

from scheduler.errors import InvalidArgument

#: Client settings from the environment (the CLI's ``--tls-*`` flags override them).
CA_ENV, CERT_ENV, KEY_ENV = "SKYBATCH_TLS_CA", "SKYBATCH_TLS_CERT", "SKYBATCH_TLS_KEY"
#: The CA as PEM text rather than a path: how the launcher hands it to worker nodes.
CA_PEM_ENV = "SKYBATCH_TLS_CA_PEM"
#: The workers' client certificate and key as PEM text (mutual TLS), likewise.
CERT_PEM_ENV, KEY_PEM_ENV = "SKYBATCH_TLS_CERT_PEM", "SKYBATCH_TLS_KEY_PEM"


def read_pem(path: Path, field: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidArgument(field, f"{path}: {exc.strerror}") from None
    if b"-----BEGIN " not in data:
        raise InvalidArgument(field, f"{path}: not a PEM file")
    return data


@dataclass(frozen=True)
class ServerTLS:
    cert_chain: bytes
    private_key: bytes
    #: When set, clients must present a certificate this CA signed (mutual TLS).
    client_ca: bytes | None = None
    #: The CA worker nodes verify this server with (handed to them at launch); None:
    #: the certificate chain itself (right when it is self-signed or holds the CA).
    worker_ca: bytes | None = None
    #: The client certificate (and key) worker nodes present under mutual TLS; it gets
    #: them through TLS only: their attempt tokens still decide what they may touch.
    worker_cert: bytes | None = None
    worker_key: bytes | None = None

    def __post_init__(self) -> None:
        if (self.worker_cert is None) != (self.worker_key is None):
            raise InvalidArgument(
                "--tls-worker-cert", "--tls-worker-cert and --tls-worker-key go together"
            )

    @classmethod
    def from_files(
        cls,
        cert: Path,
        key: Path,
        client_ca: Path | None = None,
        worker_ca: Path | None = None,
        worker_cert: Path | None = None,
        worker_key: Path | None = None,
    ) -> ServerTLS:
        def optional(path: Path | None, field: str) -> bytes | None:
            return read_pem(path, field) if path is not None else None

        return cls(
            read_pem(cert, "--tls-cert"),
            read_pem(key, "--tls-key"),
            optional(client_ca, "--tls-client-ca"),
            optional(worker_ca, "--tls-ca"),
            optional(worker_cert, "--tls-worker-cert"),
            optional(worker_key, "--tls-worker-key"),
        )

    def ca_for_workers(self) -> bytes:
        return self.worker_ca or self.cert_chain

    def for_workers(self) -> ClientTLS:
        """What worker nodes dial this server with: the CA to verify it, and under
        mutual TLS the worker certificate (None when none was given)."""
        return ClientTLS(self.ca_for_workers(), self.worker_cert, self.worker_key)

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.private_key, self.cert_chain)],
            root_certificates=self.client_ca,
            require_client_auth=self.client_ca is not None,
        )


@dataclass(frozen=True)
class ClientTLS:
    #: The CA that signed the server's certificate (None: the system's roots).
    root_ca: bytes | None = None
    #: A client certificate and its key, for servers that require one (mutual TLS).
    cert_chain: bytes | None = None
    private_key: bytes | None = None

    def __post_init__(self) -> None:
        if (self.cert_chain is None) != (self.private_key is None):
            raise InvalidArgument("--tls-cert", "a client certificate needs its key and back")

    @classmethod
    def from_files(
        cls, ca: Path | None = None, cert: Path | None = None, key: Path | None = None
    ) -> ClientTLS:
        return cls(
            read_pem(ca, "--tls-ca") if ca is not None else None,
            read_pem(cert, "--tls-cert") if cert is not None else None,
            read_pem(key, "--tls-key") if key is not None else None,
        )

    @classmethod
    def from_pem_env(cls, environ: Mapping[str, str] = os.environ) -> ClientTLS | None:
        """What a worker node dials with: ``SKYBATCH_TLS_{CA,CERT,KEY}_PEM`` (PEM text,
        from the boot script); None when no CA is set (plaintext)."""
        ca, cert, key = (environ.get(k, "") for k in (CA_PEM_ENV, CERT_PEM_ENV, KEY_PEM_ENV))
        if not ca:
            return None
        return cls(ca.encode(), cert.encode() or None, key.encode() or None)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ClientTLS | None:
        """TLS settings from ``SKYBATCH_TLS_*``; None when none is set (plaintext)."""
        ca, cert, key = (environ.get(k, "") for k in (CA_ENV, CERT_ENV, KEY_ENV))
        pem = environ.get(CA_PEM_ENV, "")
        if not (ca or cert or key or pem):
            return None
        tls = cls.from_files(
            Path(ca) if ca else None, Path(cert) if cert else None, Path(key) if key else None
        )
        if pem and tls.root_ca is None:
            tls = ClientTLS(pem.encode(), tls.cert_chain, tls.private_key)
        return tls

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.root_ca,
            private_key=self.private_key,
            certificate_chain=self.cert_chain,
        )
