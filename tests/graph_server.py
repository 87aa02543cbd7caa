"""Stand-ins on loopback for the cloud services the email tests talk to: Microsoft Graph's
sendMail, Microsoft's sign-in (OpenID discovery, the token endpoint, device code) and Google's
token endpoint. One stdlib ``ThreadingHTTPServer`` on 127.0.0.1, port 0, optionally over TLS
(a certificate from ``smtp_server.make_certificate``), recording every request.

The real client libraries (msal, google-auth) and mergekit's own Graph client talk to it as
they would to the real services: nothing is patched.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from smtp_server import CertFiles

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
CLIENT_SECRET = "test-secret-not-real"
SENDER = "attendance@northgate.example.org"
GOOGLE_CLIENT_ID = "123456789012-mergekit.apps.googleusercontent.com"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    head, body, sig = token.split(".")
    return (
        json.loads(b64url_decode(head)),
        json.loads(b64url_decode(body)),
        f"{head}.{body}".encode("ascii"),
        b64url_decode(sig),
    )


def verify_rs256(token: str, public_key: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JWT's header and claims if its RS256 (or PS256) signature is the key's; raises
    otherwise."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    header, claims, signed, sig = jwt_parts(token)
    if header["alg"] == "PS256":
        pad: Any = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    else:
        assert header["alg"] == "RS256", header
        pad = padding.PKCS1v15()
    public_key.verify(sig, signed, pad, hashes.SHA256())
    return header, claims


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("ascii")).items()}


@dataclass
class StandIn:
    """Graph + sign-in on one port. Set the knobs before or between sends."""

    cert: CertFiles | None = None
    # Graph
    accepted_tokens: set[str] = field(default_factory=set)
    throttle: int = 0  # the next N sendMail calls answer 429
    throttle_status: int = 429
    retry_after: str = "1"
    expire_after: int | None = None  # after N messages sent, every token so far is expired
    lose_answer: set[int] = field(default_factory=set)  # 1-based sendMail calls taken, no answer
    forbidden: bool = False  # 403 ErrorAccessDenied for every sendMail
    refuse_for: dict[str, tuple[int, str]] = field(default_factory=dict)  # To address -> answer
    reply_delay: float = 0.0
    clock_offset: float = 0.0  # seconds added to the Date header (a server whose clock differs)
    # Microsoft sign-in
    tenant: str = TENANT
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    client_cert_key: Any = None  # public key of the app's certificate, for client assertions
    client_cert_thumbprint: str = ""  # base64url SHA-1, the x5t header MSAL sends
    device_user: str = SENDER
    # Google
    google_public_key: Any = None
    google_client_email: str = ""

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.sent: list[bytes] = []  # MIME of every message Graph took
        self.sendmail_calls = 0
        self.issued: list[str] = []  # access tokens handed out by the token endpoints
        self.refresh_tokens: set[str] = set()
        self.google_challenge = ""
        self.google_redirect = ""
        self.server: ThreadingHTTPServer | None = None

    # -- running -----------------------------------------------------------------------------

    def start(self) -> StandIn:
        standin = self

        class Handler(_Handler):
            owner = standin

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if self.cert is not None:
            ctx = self.cert.server_context()
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base(self) -> str:
        assert self.server is not None
        scheme = "https" if self.cert is not None else "http"
        host = "localhost" if self.cert is not None else "127.0.0.1"
        return f"{scheme}://{host}:{self.server.server_address[1]}"

    @property
    def graph_url(self) -> str:
        return f"{self.base}/v1.0"

    @property
    def authority(self) -> str:
        return f"{self.base}/{self.tenant}"

    @property
    def google_token_uri(self) -> str:
        return f"{self.base}/google/token"

    # -- what arrived ------------------------------------------------------------------------

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            raw = list(self.sent)
        out = []
        for data in raw:
            msg = email.message_from_bytes(data, policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            out.append(msg)
        return out

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]).strip().strip("<>") for m in self.messages()]

    def count(self) -> int:
        with self.lock:
            return len(self.sent)

    def wait_for(self, n: int, timeout: float = 60.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.count() >= n:
                return True
            time.sleep(0.005)
        return False

    def calls(self, path_part: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if path_part in r.path]

    # -- tokens ------------------------------------------------------------------------------

    def issue(self) -> str:
        with self.lock:
            token = f"issued-{len(self.issued) + 1}-{time.monotonic_ns()}"
            self.issued.append(token)
            self.accepted_tokens.add(token)
            return token


class _Handler(BaseHTTPRequestHandler):
    owner: StandIn
    protocol_version = "HTTP/1.1"  # keep-alive, as Graph does

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        return formatdate(time.time() + self.owner.clock_offset, usegmt=True)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _record(self, body: bytes) -> Request:
        r = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        with self.owner.lock:
            self.owner.requests.append(r)
        return r

    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._record(b"")
        o = self.owner
        path = urlsplit(self.path).path
        if path == "/google/auth":
            # The browser's part: the person signs in and allows; Google sends them back.
            q = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            assert q["scope"] == "https://mail.google.com/", q
            assert q["code_challenge_method"] == "S256", q
            o.google_challenge = q["code_challenge"]
            o.google_redirect = q["redirect_uri"]
            self.send_response(302)
            self.send_header("Location", f"{q['redirect_uri']}?code=auth-code-1&state={q['state']}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path.endswith("/v2.0/.well-known/openid-configuration"):
            tenant = path.split("/")[1]
            if tenant != o.tenant:
                self._json(
                    400,
                    {
                        "error": "invalid_tenant",
                        "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
                    },
                )
                return
            root = f"{o.base}/{tenant}"
            self._json(
                200,
                {
                    "issuer": f"{root}/v2.0",
                    "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{root}/oauth2/v2.0/token",
                    "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
                },
            )
            return
        self._json(404, {"error": {"code": "NotFound", "message": path}})

    def do_POST(self) -> None:
        body = self._body()
        req = self._record(body)
        path = urlsplit(self.path).path
        if path.endswith("/sendMail"):
            self._send_mail(req)
        elif path.endswith("/oauth2/v2.0/token"):
            self._ms_token(req)
        elif path.endswith("/oauth2/v2.0/devicecode"):
            self._json(
                200,
                {
                    "device_code": "device-code-1",
                    "user_code": "NGPA-2026",
                    "verification_uri": "https://microsoft.com/devicelogin",
                    "expires_in": 900,
                    "interval": 1,
                    "message": "To sign in, use a web browser to open the page "
                    "https://microsoft.com/devicelogin and enter the code NGPA-2026 to "
                    "authenticate.",
                },
            )
        elif path == "/google/token":
            self._google_token(req)
        else:
            self._json(404, {"error": {"code": "NotFound", "message": path}})

    # -- Graph -------------------------------------------------------------------------------

    def _send_mail(self, req: Request) -> None:
        o = self.owner
        auth = req.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ")
        with o.lock:
            valid = auth.startswith("Bearer ") and token in o.accepted_tokens
        if not valid:
            self._json(
                401,
                {
                    "error": {
                        "code": "InvalidAuthenticationToken",
                        "message": "Lifetime validation failed, the token is expired.",
                    }
                },
            )
            return
        if o.forbidden:
            self._json(
                403, {"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}}
            )
            return
        with o.lock:
            if o.throttle > 0:
                o.throttle -= 1
                throttled = True
            else:
                throttled = False
        if throttled:
            self._json(
                o.throttle_status,
                {
                    "error": {
                        "code": "ApplicationThrottled",
                        "message": "Application is over its MailboxConcurrency limit.",
                    }
                },
                {"Retry-After": o.retry_after},
            )
            return
        assert req.headers.get("content-type") == "text/plain", req.headers
        mime = base64.b64decode(req.body, validate=True)
        msg = email.message_from_bytes(mime, policy=email.policy.default)
        to = {a.addr_spec for a in msg["To"].addresses} if msg["To"] else set()
        for addr, (status, text) in o.refuse_for.items():
            if addr in to:
                self._json(status, {"error": {"code": "ErrorInvalidRecipients", "message": text}})
                return
        with o.lock:
            o.sendmail_calls += 1
            call = o.sendmail_calls
            o.sent.append(mime)
            if o.expire_after is not None and len(o.sent) >= o.expire_after:
                o.accepted_tokens.clear()  # every token so far has expired
                o.expire_after = None
        if o.reply_delay:
            time.sleep(o.reply_delay)
        if call in o.lose_answer:
            # Graph has the message; the answer never reaches the client.
            self.close_connection = True
            self.connection.close()
            return
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    # -- Microsoft sign-in -------------------------------------------------------------------

    def _ms_token(self, req: Request) -> None:
        o = self.owner
        f = req.form()
        grant = f.get("grant_type", "")
        if f.get("client_id") != o.client_id:
            self._json(
                400,
                {
                    "error": "unauthorized_client",
                    "error_description": f"AADSTS700016: Application with identifier "
                    f"'{f.get('client_id')}' was not found in the directory '{o.tenant}'.",
                },
            )
            return
        if grant == "client_credentials":
            if "client_assertion" in f:
                try:
                    header, claims = verify_rs256(f["client_assertion"], o.client_cert_key)
                    assert header.get("x5t#S256", "").rstrip("=") == o.client_cert_thumbprint, (
                        header
                    )
                    assert claims["iss"] == claims["sub"] == o.client_id, claims
                except Exception:
                    self._json(
                        401,
                        {
                            "error": "invalid_client",
                            "error_description": "AADSTS700027: Client assertion contains "
                            "an invalid signature.",
                        },
                    )
                    return
            elif f.get("client_secret") != o.client_secret:
                self._json(
                    401,
                    {
                        "error": "invalid_client",
                        "error_description": "AADSTS7000215: Invalid client secret provided.",
                    },
                )
                return
            self._json(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": o.issue()})
            return
        if grant in ("urn:ietf:params:oauth:grant-type:device_code", "refresh_token"):
            if grant == "refresh_token" and f.get("refresh_token") not in o.refresh_tokens:
                self._json(
                    400,
                    {"error": "invalid_grant", "error_description": "AADSTS70008: expired."},
                )
                return
            refresh = f"refresh-{len(o.issued) + 1}"
            with o.lock:
                o.refresh_tokens.add(refresh)
            now = int(time.time())
            claims = {
                "iss": f"{o.base}/{o.tenant}/v2.0",
                "aud": o.client_id,
                "sub": "user-1",
                "oid": "00000000-0000-0000-0000-000000000001",
                "tid": o.tenant,
                "preferred_username": o.device_user,
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
            }
            id_token = ".".join(
                [b64url(b'{"alg":"none","typ":"JWT"}'), b64url(json.dumps(claims).encode()), ""]
            )
            client_info = b64url(json.dumps({"uid": claims["oid"], "utid": o.tenant}).encode())
            self._json(
                200,
                {
                    "token_type": "Bearer",
                    "scope": f.get("scope", ""),
                    "expires_in": 3599,
                    "access_token": o.issue(),
                    "refresh_token": refresh,
                    "id_token": id_token,
                    "client_info": client_info,
                },
            )
            return
        self._json(400, {"error": "unsupported_grant_type", "error_description": grant})

    # -- Google ------------------------------------------------------------------------------

    def _google_token(self, req: Request) -> None:
        o = self.owner
        f = req.form()
        if f.get("grant_type") == "authorization_code":
            verifier = f.get("code_verifier", "").encode("ascii")
            ok = (
                f.get("code") == "auth-code-1"
                and b64url(hashlib.sha256(verifier).digest()) == o.google_challenge
                and f.get("redirect_uri") == o.google_redirect
                and f.get("client_id") == GOOGLE_CLIENT_ID
            )
            if not ok:
                self._json(400, {"error": "invalid_grant", "error_description": "Bad Request"})
                return
            with o.lock:
                o.refresh_tokens.add("google-refresh-1")
            self._json(
                200,
                {
                    "access_token": o.issue(),
                    "refresh_token": "google-refresh-1",
                    "expires_in": 3599,
                    "token_type": "Bearer",
                    "scope": "https://mail.google.com/",
                },
            )
            return
        if f.get("grant_type") == "refresh_token":
            if f.get("refresh_token") not in o.refresh_tokens:
                self._json(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "Token has been expired or revoked.",
                    },
                )
                return
            self._json(200, {"access_token": o.issue(), "expires_in": 3599, "token_type": "Bearer"})
            return
        try:
            _, claims = verify_rs256(f["assertion"], o.google_public_key)
        except Exception:
            self._json(
                400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            )
            return
        if claims.get("iss") != o.google_client_email or claims.get("sub") != SENDER:
            self._json(
                401,
                {
                    "error": "unauthorized_client",
                    "error_description": "Client is unauthorized to retrieve access tokens "
                    "using this method, or client not authorized for any of the scopes "
                    "requested.",
                },
            )
            return
        self._json(200, {"access_token": o.issue(), "expires_in": 3599, "token_type": "Bearer"})


def certificate_thumbprint_x5t(cert_pem: bytes) -> str:
    """The x5t#S256 header MSAL puts in a client assertion: base64url of the certificate's
    SHA-256 (of the DER)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(Encoding.DER)
    return b64url(hashlib.sha256(der).digest())
