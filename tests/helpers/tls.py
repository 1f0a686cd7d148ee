"""A throwaway certificate authority, made at test time with the ``openssl`` command (keys are never
committed): a CA, a server certificate for 127.0.0.1, and a client certificate whose key is encrypted."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["TlsFiles", "make_tls_files"]


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path  # encrypted with key_password
    key_password: str
    client_name: str


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(
        ["openssl", *args], cwd=folder, check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=60
    )


def make_tls_files(folder: Path) -> TlsFiles:
    """Files for a TLS server on 127.0.0.1 and a client of it; skips the test without ``openssl``."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    _openssl(
        folder,
        "req",
        "-x509",
        *ec,
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
    )
    (folder / "server.cnf").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (folder / "client.cnf").write_text("extendedKeyUsage=clientAuth\n")
    _openssl(folder, "req", *ec, "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    password, client = "k3y-pass'word", "integrity-worker"
    _openssl(
        folder,
        "req",
        *ec,
        "-keyout",
        "client.key",
        "-passout",
        f"pass:{password}",
        "-out",
        "client.csr",
        "-subj",
        f"/CN={client}",
    )
    for name in ("server", "client"):
        _openssl(
            folder, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.cnf",
        )  # fmt: skip
    return TlsFiles(
        ca=folder / "ca.pem",
        server_cert=folder / "server.pem",
        server_key=folder / "server.key",
        client_cert=folder / "client.pem",
        client_key=folder / "client.key",
        key_password=password,
        client_name=client,
    )
