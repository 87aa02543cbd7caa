"""A real SMTP server for the email tests (aiosmtpd on 127.0.0.1), and a small school to send.

``SmtpServer`` listens on an ephemeral port in a thread of the test process, optionally with
STARTTLS or implicit TLS (a self-signed certificate made here with ``cryptography``) and AUTH,
and records every message it accepts. It can refuse a recipient permanently (550) or
temporarily (451 the first N times).

``make_school`` writes a tracking workbook with openpyxl, a mergekit.toml and a run folder
(manifest.csv plus one small PDF per letter whose text carries the pupil's UPN), so the mail
tests do not wait for the letters pipeline.
"""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import hashlib
import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# ---------------------------------------------------------------------------------------------
# Certificates


@dataclass(frozen=True)
class CertFiles:
    cert: Path  # PEM; point SSL_CERT_FILE at it so the client trusts the server
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


def make_certificate(folder: Path, name: str = "localhost") -> CertFiles:
    """A self-signed certificate for localhost and 127.0.0.1, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path = folder / f"{name}-cert.pem"
    key_path = folder / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return CertFiles(cert_path, key_path)


# ---------------------------------------------------------------------------------------------
# The server


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"]).strip().strip("<>")


MS_AUTH_DISABLED = (
    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
    "Tenant. Visit https://aka.ms/smtp_auth_disabled for more information."
)


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        """SASL XOAUTH2 as Microsoft 365 and Gmail speak it: the initial response is
        base64("user=..^Aauth=Bearer TOKEN^A^A"); a refusal is a 334 carrying a JSON error,
        answered by the client with an empty line, then 535."""
        import base64
        import json

        if self.server.auth_disabled:
            return AuthResult(success=False, handled=False, message=MS_AUTH_DISABLED)
        if len(args) == 2:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except ValueError:
                return AuthResult(success=False, handled=False, message="501 5.5.2 bad base64")
        else:
            got = await server.challenge_auth("")
            if not isinstance(got, bytes):
                return AuthResult(success=False, handled=True)
            blob = got
        text = blob.decode("utf-8", "replace")
        self.server.xoauth2_seen.append(text)
        for token in sorted(self.server.xoauth2_tokens):
            if text == f"user={self.server.xoauth2_user}\x01auth=Bearer {token}\x01\x01":
                return AuthResult(
                    success=True, handled=False, auth_data=self.server.xoauth2_user.encode()
                )
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "SMTP.Send"})
        await server.challenge_auth(error)
        return AuthResult(
            success=False, handled=False, message="535 5.7.3 Authentication unsuccessful"
        )

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        return self.server._rcpt(envelope, address)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        self.server._record(
            Received(
                envelope.mail_from,
                tuple(envelope.rcpt_tos),
                bytes(envelope.original_content or envelope.content),
                tls=ssl_object is not None or session.ssl is not None,
                login=login,
            )
        )
        if self.server.reply_delay:
            # The server has the message but the client has not heard so yet: the window in
            # which a killed sender cannot know whether its message went.
            await asyncio.sleep(self.server.reply_delay)
        return "250 2.0.0 Message accepted for delivery"


class _Controller(Controller):
    """aiosmtpd's Controller, on an ephemeral port (port 0), counting connections."""

    connections = 0

    def factory(self) -> Any:
        self.connections += 1
        return super().factory()

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class SmtpServer:
    tls: Literal["starttls", "ssl"] | None = None
    cert: CertFiles | None = None
    auth: tuple[str, str] | None = None
    received: list[Received] = field(default_factory=list)
    permanent: set[str] = field(default_factory=set)
    temporary: dict[str, int] = field(default_factory=dict)
    refusals: list[tuple[str, str]] = field(default_factory=list)  # (address, code)
    reply_delay: float = 0.0  # seconds between taking a message and saying 250
    # AUTH XOAUTH2 only (no LOGIN/PLAIN), accepting these tokens for this user
    xoauth2_user: str = ""
    xoauth2_tokens: set[str] = field(default_factory=set)
    xoauth2_seen: list[str] = field(default_factory=list)  # every SASL string received
    auth_disabled: bool = False  # Microsoft's 535 5.7.139 to every AUTH

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._controller: _Controller | None = None

    # -- set-up ------------------------------------------------------------------------------

    def reject_permanently(self, address: str) -> None:
        self.permanent.add(address.lower())

    def reject_temporarily(self, address: str, times: int) -> None:
        self.temporary[address.lower()] = times

    def start(self) -> SmtpServer:
        kwargs: dict[str, Any] = {}
        if self.tls and self.cert is None:
            raise ValueError("a TLS server needs cert=make_certificate(...)")
        if self.tls == "starttls":
            assert self.cert is not None
            kwargs.update(tls_context=self.cert.server_context(), require_starttls=True)
        elif self.tls == "ssl":
            assert self.cert is not None
            kwargs.update(ssl_context=self.cert.server_context())
        if self.auth is not None:
            kwargs.update(authenticator=self._authenticate)
            if self.tls == "ssl":
                # TLS from the first byte: aiosmtpd only knows about STARTTLS.
                kwargs.update(auth_require_tls=False)
        if self.xoauth2_user or self.auth_disabled:
            kwargs.update(
                auth_exclude_mechanism=["LOGIN", "PLAIN"],
                auth_require_tls=self.tls == "starttls",
            )
        else:
            kwargs.setdefault("auth_exclude_mechanism", ["XOAUTH2"])
        self._controller = _Controller(_Handler(self), hostname="127.0.0.1", port=0, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._controller is not None
        return int(self._controller.port)

    @property
    def connections(self) -> int:
        """SMTP sessions opened, not counting the one the controller makes to start itself."""
        assert self._controller is not None
        return self._controller.connections - 1

    # -- what arrived ------------------------------------------------------------------------

    def messages(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def count(self) -> int:
        with self._lock:
            return len(self.received)

    def message_ids(self) -> list[str]:
        return [r.message_id for r in self.messages()]

    def wait_for(self, n: int, timeout: float = 30.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.count() >= n:
                return True
            time.sleep(0.005)
        return False

    # -- the handler's side -------------------------------------------------------------------

    def _rcpt(self, envelope: Any, address: str) -> str:
        key = address.lower()
        with self._lock:
            if key in self.permanent:
                self.refusals.append((address, "550"))
                return "550 5.1.1 No such user here"
            if self.temporary.get(key, 0) > 0:
                self.temporary[key] -= 1
                self.refusals.append((address, "451"))
                return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    def _record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self.auth is not None
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = self.auth
        ok = auth_data.login == user.encode() and auth_data.password == password.encode()
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)


# ---------------------------------------------------------------------------------------------
# A school with a run folder to send


def valid_upn(n: int) -> str:
    """The n-th synthetic UPN with a correct DfE check letter (LA 201, school 4999)."""
    from stdnum.gb import upn

    body = f"2014999{n // 1000 % 100:02d}{n % 1000:03d}"
    return upn.calc_check_digit(body) + body


def pdf_with_text(lines: list[str]) -> bytes:
    """A one-page PDF showing ``lines`` in Helvetica, written by hand (no renderer needed)."""
    ops = ["BT", "/F1 12 Tf", "72 760 Td", "14 TL"]
    for line in lines:
        safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({safe}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


FORENAMES = ["Amara", "Ben", "Chloe", "Dev", "Ella", "Finn", "Grace", "Hamza", "Isla", "Jack"]
SURNAMES = ["Khan", "Lewis", "Morgan", "Nowak", "Osei", "Patel", "Quinn", "Reid", "Shah", "Taylor"]
DAY = dt.date(2026, 11, 27)


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    title: str = "Mx"
    priority: int = 1
    pr: bool = True
    lives_with: bool = True
    no_contact: bool = False


@dataclass(frozen=True)
class PupilSpec:
    upn: str
    forename: str
    surname: str
    year: int
    reg: str
    contacts: tuple[Contact, ...]
    action: str = "pa_letter_1"  # the document made for the pupil ("" for none)
    social_worker_email: str = ""
    key_worker_email: str = ""
    adno: str = ""
    looked_after: bool = False
    absent_today: bool = False  # an N mark for today on a Marks sheet

    @property
    def full_name(self) -> str:
        return f"{self.forename} {self.surname}"

    @property
    def stem(self) -> str:
        return (
            f"Y{self.year:02d}_{self.reg}_{self.surname}_{self.forename}_{self.upn}_{self.action}"
        )


def pupils(n: int, *, action: str = "pa_letter_1", start: int = 1) -> list[PupilSpec]:
    """n pupils, each with one or two parents with email (every third has two)."""
    out = []
    for i in range(start, start + n):
        fore = FORENAMES[i % len(FORENAMES)] + ("" if i < 10 else f"{i}")
        sur = SURNAMES[(i // len(FORENAMES)) % len(SURNAMES)]
        contacts = [Contact(f"Parent{i} {sur}", f"parent{i}.a@example.org", "Mrs", 1)]
        if i % 3 == 0:
            contacts.append(Contact(f"Carer{i} {sur}", f"carer{i}.b@example.org", "Mr", 2))
        out.append(
            PupilSpec(valid_upn(i), fore, sur, 7 + i % 5, f"{7 + i % 5}X", tuple(contacts), action)
        )
    return out


MAIL_DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 25,
    "security": "none",
    "from": "Northgate Park Attendance <attendance@northgate.example.org>",
    "reply_to": "attendance@northgate.example.org",
    "bcc": "sent-log@northgate.example.org",
    "rate_per_minute": 60000,
    "retries": 3,
    "retry_wait_seconds": 0.01,
    "timeout_seconds": 10,
}


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class School:
    root: Path
    pupils: list[PupilSpec]

    @property
    def config(self) -> Path:
        return self.root / "mergekit.toml"

    @property
    def run_dir(self) -> Path:
        return self.root / "out" / DAY.isoformat()

    @property
    def ledger(self) -> Path:
        return self.root / "mergekit-ledger.sqlite"

    def by_upn(self) -> dict[str, PupilSpec]:
        return {p.upn: p for p in self.pupils}

    def set_mail(self, **mail: Any) -> None:
        """Rewrite mergekit.toml's [mail] section with these keys over the defaults."""
        text = self.config.read_text(encoding="utf-8")
        head = text.split("[mail]")[0]
        values = {**MAIL_DEFAULTS, **mail}
        lines = [f"{k} = {_toml(v)}" for k, v in values.items() if v is not None]
        self.config.write_text(head + "[mail]\n" + "\n".join(lines) + "\n", encoding="utf-8")

    def iter_documents(self) -> Iterator[PupilSpec]:
        return (p for p in self.pupils if p.action and p.action != "vulnerable_day1_contact")


def make_school(
    root: Path, specs: list[PupilSpec], *, cme_email: str = "cme@example.gov.uk", **mail: Any
) -> School:
    """Workbook + config + run folder (manifest.csv and a PDF per document) under ``root``."""
    from openpyxl import Workbook

    root.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Pupils"
    ws.append(
        [
            "UPN",
            "Admission No",
            "Legal Surname",
            "Legal Forename",
            "DOB",
            "Year",
            "Reg Group",
            "Address Line 1",
            "Town",
            "Postcode",
            "Looked After",
            "Social Worker Name",
            "Social Worker Email",
            "Key Worker Name",
            "Key Worker Email",
        ]
    )
    for p in specs:
        ws.append(
            [
                p.upn,
                p.adno,
                p.surname,
                p.forename,
                dt.date(2026 - p.year - 5, 3, 14),
                p.year,
                p.reg,
                "1 Example Street",
                "Exampleton",
                "ZZ1 1AA",
                "Y" if p.looked_after else "N",
                "Sam Worker" if p.social_worker_email else "",
                p.social_worker_email,
                "Kim Keyworker" if p.key_worker_email else "",
                p.key_worker_email,
            ]
        )
    cs = wb.create_sheet("Contacts")
    cs.append(
        [
            "UPN",
            "Priority",
            "Title",
            "Contact Name",
            "Relationship",
            "Parental Responsibility",
            "Lives With Pupil",
            "No Contact",
            "Email",
        ]
    )
    for p in specs:
        for c in p.contacts:
            cs.append(
                [
                    p.upn,
                    c.priority,
                    c.title,
                    c.name,
                    "Mother" if c.priority == 1 else "Father",
                    "Y" if c.pr else "N",
                    "Y" if c.lives_with else "N",
                    "Y" if c.no_contact else "N",
                    c.email,
                ]
            )
    absent = [p for p in specs if p.absent_today]
    if absent:
        ms = wb.create_sheet("Marks")
        ms.append(["UPN", "Date", "AM", "PM"])
        for p in absent:
            ms.append([p.upn, DAY, "N", "N"])
    wb.save(root / "tracking.xlsx")
    (root / "mergekit.toml").write_text(
        "[school]\n"
        'name = "Northgate Park Academy"\n'
        'attendance_officer = "Ms Priya Lal"\n'
        'attendance_officer_title = "Attendance Officer"\n'
        'phone = "01632 960 400"\n'
        'dsl = "Mr Daniel Osei"\n'
        "\n[council]\n"
        'name = "Exampleshire City Council"\n'
        'cme_team = "Children Missing Education Team"\n'
        f"cme_email = {_toml(cme_email)}\n"
        "\n[files]\n"
        'tracking = "tracking.xlsx"\n'
        'ledger = "mergekit-ledger.sqlite"\n'
        'output = "out"\n'
        "\n[run]\n"
        f"today = {DAY.isoformat()}\n"
        "\n[mail]\n",
        encoding="utf-8",
    )
    school = School(root, specs)
    school.set_mail(**mail)
    write_run(school)
    return school


def write_run(school: School) -> None:
    run = school.run_dir
    (run / "pdf").mkdir(parents=True, exist_ok=True)
    rows = []
    for p in school.iter_documents():
        pdf = run / "pdf" / f"{p.stem}.pdf"
        pdf.write_bytes(
            pdf_with_text([f"{p.action} for {p.full_name}", f"UPN {p.upn}", "Synthetic test"])
        )
        rows.append(
            {
                "upn": p.upn,
                "action": p.action,
                "file": f"pdf/{p.stem}.pdf",
                "sha256": hashlib.sha256(pdf.read_bytes()).hexdigest(),
                "recipients": "; ".join(c.name for c in p.contacts),
            }
        )
    with (run / "manifest.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["upn", "action", "file", "sha256", "recipients"])
        w.writeheader()
        w.writerows(rows)
