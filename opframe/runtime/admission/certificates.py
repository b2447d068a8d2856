"""The webhook server's certificates: made at start-up (a self-signed CA and a serving certificate it
issued), issued from a CA all replicas share (``serve_from``, see authority.py), or read from files and
re-read when they change.

Invariants: every TLS handshake uses the newest context (a replaced certificate serves the next
connection, with no re-bind and no dropped request); files are looked at (size and mtime) at most
every FILE_CHECK_SECONDS, and a pair that does not load keeps the last good one in service (logged);
``ca_bundle`` is what the API server must trust: the given CA file (re-read with the pair), else the
shared or generated CA, else the serving certificate itself.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import ssl
import tempfile
import threading
import time
from pathlib import Path

from opframe.kube.pki import issue, load_ca, new_ca

logger = logging.getLogger("opframe.admission")

#: How often the certificate files are looked at for a change: cheap (two stats) and soon enough for a
#: rotation (cert-manager renews days before expiry); the first handshake after a change picks it up.
FILE_CHECK_SECONDS = 1.0


class CertificateError(Exception):
    """A certificate or key that cannot be used; the message names the file and the fix."""


class ServingCertificates:
    def __init__(self, *, cert_file: str | None = None, key_file: str | None = None, password: str | None = None,
                 ca_file: str | None = None, hosts: list[str] | None = None, shared: bool = False) -> None:
        if bool(cert_file) != bool(key_file):
            raise CertificateError("give both a certificate file and its key file (webhook_cert_file and "
                                   "webhook_key_file, or kopf's certfile= and pkeyfile=), or neither for a "
                                   "generated one")
        self._lock = threading.Lock()
        self._password = password
        self._checked = 0.0
        self._stamp: tuple[tuple[int, int], ...] = ()
        self._names = tuple(dict.fromkeys(hosts or ["localhost"]))
        self._signer = b""
        self._ca = b""
        self._context: ssl.SSLContext | None = None
        self._ca_file = Path(ca_file) if ca_file else None
        if cert_file and key_file:
            self._files: tuple[Path, Path] | None = (Path(cert_file), Path(key_file))
            self._context = self._load(*self._files)
            self._stamp = self._stamps()
            self._ca = _read(self._ca_file or self._files[0])
        else:
            self._files = None
            if shared:
                return  # serve_from() gives the first certificate, before anything is served
            ca_pair, ca_key, ca_cert = new_ca("opframe-webhook-ca")
            pair = issue(ca_key=ca_key, ca_cert=ca_cert, common_name=_common_name(self._names),
                         server_names=self._names)
            self._ca = _read(self._ca_file) if self._ca_file else ca_pair.cert_pem
            self._context = self._load_pair(pair.cert_pem, pair.key_pem)

    def serve_from(self, ca_cert: bytes, ca_key: bytes, bundle: bytes) -> bool:
        """Serve a certificate issued by the shared CA (a new one only when the CA changed; valid as long
        as the CA), and have the API server trust ``bundle``. True when either changed."""
        changed = bundle != self._ca
        self._ca = bundle
        if ca_cert == self._signer:
            return changed
        key, cert = load_ca(ca_cert, ca_key)
        pair = issue(ca_key=key, ca_cert=cert, common_name=_common_name(self._names), server_names=self._names,
                     validity=cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC))
        self._context = self._load_pair(pair.cert_pem, pair.key_pem)
        if self._signer:
            logger.info("the webhook CA was rotated: new connections get a certificate issued by the new one")
        self._signer = ca_cert
        return True

    def _load_pair(self, cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
        with tempfile.TemporaryDirectory(prefix="opframe-webhook-") as folder:
            cert, key = Path(folder) / "tls.crt", Path(folder) / "tls.key"
            cert.write_bytes(cert_pem)
            key.write_bytes(key_pem)
            return self._load(cert, key)

    @property
    def ca_bundle(self) -> bytes:
        """The PEM the API server must trust (the configurations' caBundle, base64 of it)."""
        return self._ca

    def context(self) -> ssl.SSLContext:
        """The context for the next handshake: the files' newest pair once they changed."""
        assert self._context is not None, "serve_from() gives a shared CA's first certificate"
        if self._files is None:
            return self._context
        return self.refresh()

    def refresh(self) -> ssl.SSLContext:
        """Look at the files (at most every FILE_CHECK_SECONDS) and load them if they changed; the
        keeper calls it too, so that a new CA file reaches the configurations without a handshake."""
        assert self._context is not None
        now = time.monotonic()
        if self._files is None or now - self._checked < FILE_CHECK_SECONDS:
            return self._context
        with self._lock:
            self._checked = now
            stamp = self._stamps()
            if stamp != self._stamp:
                try:
                    self._context = self._load(*self._files)
                    if self._ca_file is not None:
                        self._ca = _read(self._ca_file)
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
        for path in (*self._files, *([self._ca_file] if self._ca_file else [])):
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
