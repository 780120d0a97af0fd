"""The local stack's own small certificate authority (ADR 16), made with `cryptography`.

`onebudget up` and the test fixtures make, under a folder of `.onebudget/`, a CA (`ca.pem`, its
key `ca.key`) and one server certificate per name (`<name>.pem`, `<name>.key`) for loopback
(`127.0.0.1`, `::1`, `localhost`) and the name itself. Services serve TLS with those files and
clients verify them against `ca.pem`; production brings its own certificates from files (README,
ONEBUDGET_TLS_*). One CA serves every stack and test session of a project (`.onebudget/tls/`,
made under a lock). Keys are ECDSA P-256 (fast to make, fast to handshake) and written 0600; a CA
already made is kept (its certificates stay valid across restarts).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.runtime.secrets import write_private

CA_DAYS = 825
LEAF_DAYS = 397  # what browsers accept for a server certificate; the stack makes new ones
LOOPBACK_NAMES = ("localhost",)
LOOPBACK_IPS = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class IssuedCertificate:
    """Files of one certificate: PEM certificate, PEM private key (0600) and the CA's PEM."""

    cert_file: Path
    key_file: Path
    ca_file: Path


def _now() -> datetime.datetime:
    return SYSTEM_CLOCK.now()  # the one clock (shared/clock.py), an aware UTC instant


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(path, pem.decode())


def _valid(cert_file: Path, key_file: Path) -> bool:
    if not (cert_file.exists() and key_file.exists()):
        return False
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    return cert.not_valid_after_utc - _now() > datetime.timedelta(days=30)


@dataclass(frozen=True)
class LocalCA:
    """A CA in `folder`: made on first use, then reused."""

    folder: Path

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def _ca_key_file(self) -> Path:
        return self.folder / "ca.key"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One process at a time makes the CA or a certificate (several test sessions and
        stacks of one project share the CA)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        with (self.folder / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def ensure(self) -> LocalCA:
        """Make the CA unless a valid one is there."""
        with self._locked():
            if not _valid(self.ca_file, self._ca_key_file):
                self._make()
        return self

    def _make(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "OneBudget local CA")])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        _write_key(self._ca_key_file, key)
        self.ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        # An older CA's certificates are of no use now.
        for old in [*self.folder.glob("*.pem"), *self.folder.glob("*.key")]:
            if old not in (self.ca_file, self._ca_key_file):
                old.unlink()

    def server_certificate(self, name: str, hosts: tuple[str, ...] = ()) -> IssuedCertificate:
        """A server certificate (and key) for `name`, loopback and `hosts`: made unless a
        valid one is there."""
        issued = IssuedCertificate(
            self.folder / f"{name}.pem", self.folder / f"{name}.key", self.ca_file
        )
        with self._locked():
            if not _valid(issued.cert_file, issued.key_file):
                self._issue(issued, name, hosts)
        return issued

    def _issue(self, issued: IssuedCertificate, name: str, hosts: tuple[str, ...]) -> None:
        ca_key = serialization.load_pem_private_key(self._ca_key_file.read_bytes(), None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        ca_cert = x509.load_pem_x509_certificate(self.ca_file.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        dns = sorted({name, *LOOPBACK_NAMES, *(h for h in hosts if not _is_ip(h))})
        ips = sorted({*LOOPBACK_IPS, *(h for h in hosts if _is_ip(h))})
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=LEAF_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName(d) for d in dns]
                    + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
                ),
                critical=False,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        _write_key(issued.key_file, key)
        issued.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def local_ca() -> LocalCA:
    """The project's CA (`.onebudget/tls/`, or under ONEBUDGET_STATE_DIR), made if missing."""
    from onebudget.shared.runtime.infra import project_state_dir

    return LocalCA(project_state_dir() / "tls").ensure()
