"""The webhook server's certificates: made at start-up (a self-signed CA and a serving certificate it
issued), or read from files and re-read when they change.

Invariants: every TLS handshake uses the newest context (a replaced certificate serves the next
connection, with no re-bind and no dropped request); files are looked at (size and mtime) at most
every FILE_CHECK_SECONDS, and a pair that does not load keeps the last good one in service (logged);
``ca_bundle`` is what the API server must trust: the given CA file, else the generated CA, else the
serving certificate itself.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import ssl
import tempfile
import threading
import time
from pathlib import Path

from opframe.kube.pki import issue, new_ca

logger = logging.getLogger("opframe.admission")

#: How often the certificate files are looked at for a change: cheap (two stats) and soon enough for a
#: rotation (cert-manager renews days before expiry); the first handshake after a change picks it up.
FILE_CHECK_SECONDS = 1.0


class CertificateError(Exception):
    """A certificate or key that cannot be used; the message names the file and the fix."""


class ServingCertificates:
    def __init__(self, *, cert_file: str | None = None, key_file: str | None = None, password: str | None = None,
                 ca_file: str | None = None, hosts: list[str] | None = None) -> None:
        if bool(cert_file) != bool(key_file):
            raise CertificateError("give both a certificate file and its key file (webhook_cert_file and "
                                   "webhook_key_file, or kopf's certfile= and pkeyfile=), or neither for a "
                                   "generated one")
        self._lock = threading.Lock()
        self._password = password
        self._checked = 0.0
        self._stamp: tuple[tuple[int, int], ...] = ()
        if cert_file and key_file:
            self._files: tuple[Path, Path] | None = (Path(cert_file), Path(key_file))
            self._context = self._load(*self._files)
            self._stamp = self._stamps()
            self._ca = _read(Path(ca_file)) if ca_file else _read(self._files[0])
        else:
            self._files = None
            names = tuple(dict.fromkeys(hosts or ["localhost"]))
            ca_pair, ca_key, ca_cert = new_ca("opframe-webhook-ca")
            pair = issue(ca_key=ca_key, ca_cert=ca_cert, common_name=_common_name(names), server_names=names)
            self._ca = _read(Path(ca_file)) if ca_file else ca_pair.cert_pem
            with tempfile.TemporaryDirectory(prefix="opframe-webhook-") as folder:
                cert, key = Path(folder) / "tls.crt", Path(folder) / "tls.key"
                cert.write_bytes(pair.cert_pem)
                key.write_bytes(pair.key_pem)
                self._context = self._load(cert, key)

    @property
    def ca_bundle(self) -> bytes:
        """The PEM the API server must trust (the configurations' caBundle, base64 of it)."""
        return self._ca

    def context(self) -> ssl.SSLContext:
        """The context for the next handshake: the files' newest pair once they changed."""
        if self._files is None:
            return self._context
        now = time.monotonic()
        if now - self._checked < FILE_CHECK_SECONDS:
            return self._context
        with self._lock:
            self._checked = now
            stamp = self._stamps()
            if stamp != self._stamp:
                try:
                    self._context = self._load(*self._files)
                except CertificateError as exc:
                    logger.error("the webhook certificate changed but cannot be used (%s); the previous one "
                                 "serves on", exc)
                else:
                    logger.info("the webhook certificate %s changed: new connections use it", self._files[0])
                self._stamp = stamp
            return self._context

    def _stamps(self) -> tuple[tuple[int, int], ...]:
        assert self._files is not None
        stamps = []
        for path in self._files:
            try:
                info = os.stat(path)
            except OSError:
                stamps.append((-1, -1))
            else:
                stamps.append((info.st_mtime_ns, info.st_size))
        return tuple(stamps)

    def _load(self, cert: Path, key: Path) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(cert, key, password=self._password)
        except FileNotFoundError as exc:
            raise CertificateError(f"{exc.filename or cert}: no such file; check the webhook certificate and key "
                                   "paths") from None
        except (ssl.SSLError, OSError) as exc:
            raise CertificateError(f"{cert} with {key}: not a PEM certificate and its private key ({exc}); give a "
                                   "matching pair (and the key's password if it is encrypted)") from None
        return context


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CertificateError(f"{path}: cannot be read ({exc.strerror}); check the webhook CA/certificate path") \
            from None


def _common_name(names: tuple[str, ...]) -> str:
    """kopf's rule: the first name that is not an address, else the first address."""
    for name in names:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return name
    return names[0]
