#!/usr/bin/env python3
"""A remote-write proxy for tests, in front of a real receiver (Prometheus).

It can
  - verify AWS Signature Version 4 on every request with botocore's SigV4Auth (an
    implementation independent of loadrun's signer): a missing, stale or wrong signature, a
    wrong key id, region, service or session token, or an X-Amz-Content-Sha256 that is not the
    SHA-256 of the body as received is answered 403 with an AWS-style message; valid requests
    are forwarded;
  - terminate TLS with a maximum protocol version (e.g. a server that only speaks TLS 1.2).

Configured by environment variables (secrets stay out of `ps`), see start-prw-proxy.sh.
GET /ready -> 200 "ok"; GET /stats -> JSON {accepted, rejected, reasons, signed_headers,
tls_failures}; POST anything else -> verified, then forwarded to PRW_PROXY_UPSTREAM.
"""

import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<akid>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?"
    r"Signature=(?P<sig>[0-9a-f]{64})$"
)
MAX_SKEW = datetime.timedelta(minutes=15)  # what AWS allows

STATS = {
    "accepted": 0,
    "rejected": 0,
    "reasons": [],
    "signed_headers": [],
    "tls_failures": [],
}
LOCK = threading.Lock()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def note(key, value=None):
    with LOCK:
        if value is None:
            STATS[key] += 1
        else:
            STATS[key].append(value)
            del STATS[key][:-50]


class SigV4Verifier:
    def __init__(self, region, access_key, secret_key, token, service):
        from botocore.auth import SigV4Auth
        from botocore.credentials import Credentials

        self.region, self.access_key, self.token, self.service = region, access_key, token, service
        self.auth = SigV4Auth(Credentials(access_key, secret_key, token), service, region)

    def check(self, method, path, headers, body):
        """None when the request is correctly signed, else why not."""
        from botocore.awsrequest import AWSRequest

        m = AUTH_RE.match(headers.get("Authorization", ""))
        if not m:
            return "MissingAuthenticationToken: no valid AWS4-HMAC-SHA256 Authorization header"
        if m["akid"] != self.access_key:
            return "UnrecognizedClientException: The security token included in the request is invalid (unknown access key id)"
        if (m["region"], m["service"]) != (self.region, self.service):
            return f"InvalidSignatureException: Credential should be scoped to a valid region and service ({self.region}/{self.service}), not {m['region']}/{m['service']}"
        signed = m["signed"].split(";")
        for required in ("host", "x-amz-date"):
            if required not in signed:
                return f"InvalidSignatureException: {required} must be signed"
        amz_date = headers.get("X-Amz-Date", "")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
        except ValueError:
            return f"IncompleteSignatureException: bad X-Amz-Date {amz_date!r}"
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        if abs(now - when) > MAX_SKEW or m["day"] != amz_date[:8]:
            return f"InvalidSignatureException: Signature expired or not yet valid: {amz_date} (now {now:%Y%m%dT%H%M%SZ})"
        content_sha = headers.get("X-Amz-Content-Sha256")
        if content_sha is not None:
            if "x-amz-content-sha256" not in signed:
                return "InvalidSignatureException: X-Amz-Content-Sha256 is sent but not signed"
            if content_sha != hashlib.sha256(body).hexdigest():
                return "XAmzContentSHA256Mismatch: The provided 'x-amz-content-sha256' header does not match what was computed"
        token = headers.get("X-Amz-Security-Token")
        if self.token is not None:
            if token != self.token or "x-amz-security-token" not in signed:
                return "UnrecognizedClientException: The security token included in the request is invalid (session token missing, wrong or unsigned)"
        elif token is not None:
            return "UnrecognizedClientException: The security token included in the request is invalid (unexpected session token)"

        # Recompute with botocore over exactly the headers the client says it signed.
        host = headers.get("Host", "")
        req = AWSRequest(method=method, url=f"http://{host}{path}", data=body)
        for name in signed:
            values = headers.get_all(name) or []
            if not values:
                return f"InvalidSignatureException: signed header {name} is missing"
            for v in values:
                req.headers.add_header(name, v)
        req.context["timestamp"] = amz_date
        canonical = self.auth.canonical_request(req)
        string_to_sign = self.auth.string_to_sign(req, canonical)
        expected = self.auth.signature(string_to_sign, req)
        if not hmac.compare_digest(expected, m["sig"]):
            return (
                "SignatureDoesNotMatch: The request signature we calculated does not match the "
                "signature you provided. Check your AWS Secret Access Key and signing method."
            )
        note("signed_headers", m["signed"])
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "prw-proxy"

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError) as e:
                note("tls_failures", str(e))
                log(f"TLS handshake failed: {e}")
                raise
        super().setup()

    def log_message(self, fmt, *args):
        log("%s %s" % (self.address_string(), fmt % args))

    def reply(self, status, body, content_type="text/plain; charset=utf-8"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/ready":
            self.reply(200, "ok")
        elif self.path == "/stats":
            with LOCK:
                data = json.dumps(STATS)
            self.reply(200, data, "application/json")
        else:
            self.reply(404, "not found")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        verifier = self.server.verifier
        if verifier is not None:
            why = verifier.check("POST", self.path, self.headers, body)
            if why is not None:
                note("rejected")
                note("reasons", why)
                log(f"rejected: {why}")
                code = why.split(":", 1)[0]
                self.reply(403, json.dumps({"message": why, "__type": code}), "application/json")
                return
        note("accepted")
        self.forward(body)

    def forward(self, body):
        up = self.server.upstream
        conn_cls = http.client.HTTPSConnection if up.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(up.hostname, up.port, timeout=10)
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() in ("content-encoding", "content-type", "x-prometheus-remote-write-version", "user-agent")
        }
        try:
            conn.request("POST", up.path or "/", body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.reply(resp.status, data, resp.getheader("Content-Type", "text/plain; charset=utf-8"))
        except OSError as e:
            self.reply(502, f"upstream: {e}")
        finally:
            conn.close()


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        log(f"{client_address[0]}: connection error: {sys.exc_info()[1]}")


def main():
    env = os.environ.get
    port = int(env("PRW_PROXY_PORT", "19091"))
    server = Server(("127.0.0.1", port), Handler)
    server.upstream = urllib.parse.urlsplit(env("PRW_PROXY_UPSTREAM", ""))
    if server.upstream.scheme not in ("http", "https"):
        sys.exit("PRW_PROXY_UPSTREAM must be an http(s) URL")
    sig = [env(f"PRW_PROXY_SIGV4_{k}") for k in ("REGION", "ACCESS_KEY", "SECRET_KEY")]
    if all(sig):
        server.verifier = SigV4Verifier(*sig, env("PRW_PROXY_SIGV4_SESSION_TOKEN") or None, env("PRW_PROXY_SIGV4_SERVICE", "aps"))
        log(f"verifying SigV4 for {sig[0]}/{server.verifier.service}, key id {sig[1]}")
    elif any(sig):
        sys.exit("PRW_PROXY_SIGV4_REGION, _ACCESS_KEY and _SECRET_KEY go together")
    else:
        server.verifier = None
    cert = env("PRW_PROXY_TLS_CERT")
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, env("PRW_PROXY_TLS_KEY"))
        top = env("PRW_PROXY_TLS_MAX_VERSION")
        if top:
            ctx.maximum_version = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[top]
        server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        log(f"TLS on, maximum version {top or 'any'}")
    log(f"listening on 127.0.0.1:{port}, forwarding to {server.upstream.geturl()}")
    server.serve_forever()


if __name__ == "__main__":
    main()
