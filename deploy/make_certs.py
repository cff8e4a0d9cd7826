"""Make the mTLS certificates docker-compose.yml mounts (run by deploy/make-secrets.sh).

    python deploy/make_certs.py deploy/secrets/tls

A private CA for the compose cluster, a server certificate for the Temporal frontend and
its internode traffic (name ``temporal``, also ``localhost`` and 127.0.0.1 for the port
published on loopback), and one client certificate per identity that talks to Temporal:
``worker``, ``api``, ``ui`` and ``admin`` (the schema/registration jobs, the healthcheck, the
operator's ``casework`` in ``cid-migrate``). ECDSA P-256, made locally with
``cryptography`` (nothing is downloaded). Private keys are written 0600. A file that
exists is kept: run again after deleting the folder to renew (every service then needs
restarting). For production use your organisation's CA instead.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_NAME = "temporal"
CLIENTS = ("worker", "api", "ui", "admin")
VALID_DAYS = 825  # the longest validity clients commonly accept for a server certificate


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "acro-casework compose"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))


def _issue(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None,
           issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool = False, server: bool = False) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.subject if issuer else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=False, crl_sign=False, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=True,
            encipher_only=False, decipher_only=False), critical=True)
        # The server certificate is also the internode client's: both usages.
        usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH] if server \
            else [ExtendedKeyUsageOID.CLIENT_AUTH]
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.DNSName(SERVER_NAME), x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_certs(folder: Path) -> list[str]:
    """Make what is missing in ``folder``; return the names of the files made."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    made: list[str] = []
    ca_cert_path, ca_key_path = folder / "ca.pem", folder / "ca.key"
    if ca_cert_path.is_file() and ca_key_path.is_file():
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    else:
        ca_key = _key()
        ca_cert = _issue("acro-casework compose CA", ca_key, None, ca_key, ca=True)
        _write_key(ca_key_path, ca_key)
        _write_cert(ca_cert_path, ca_cert)
        made += [ca_cert_path.name, ca_key_path.name]
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    for name, server in [(SERVER_NAME, True)] + [(client, False) for client in CLIENTS]:
        cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
        if cert_path.is_file() and key_path.is_file():
            continue
        key = _key()
        subject = SERVER_NAME if server else f"casework-{name}"
        _write_key(key_path, key)
        _write_cert(cert_path, _issue(subject, key, ca_cert, ca_key, server=server))
        made += [cert_path.name, key_path.name]
    return made


def main() -> None:
    if len(sys.argv) != 2:
        print("usage: python deploy/make_certs.py <folder>", file=sys.stderr)
        raise SystemExit(2)
    for name in make_certs(Path(sys.argv[1])):
        print(f"made {Path(sys.argv[1]) / name}")


if __name__ == "__main__":
    main()
