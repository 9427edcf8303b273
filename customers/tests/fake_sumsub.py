"""A local Sumsub API for tests (real HTTP on 127.0.0.1), after Sumsub's public API reference.

It checks every request's signature (X-App-Token, X-App-Access-Ts within 60 s, X-App-Access-Sig = hex
HMAC-SHA256 of ts + METHOD + path-with-query + body with the secret key) and answers 401 otherwise; it implements
`POST /resources/applicants?levelName=` and `POST /resources/accessTokens/sdk`, and can post a signed webhook
(X-Payload-Digest, X-Payload-Digest-Alg) to our endpoint, like Sumsub's webhook sender."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import httpx


class FakeSumsub:
    def __init__(self, *, app_token: str = "sbx:test-token", secret_key: str = "test-secret",
                 webhook_secret: str = "webhook-secret"):
        self.app_token, self.secret_key, self.webhook_secret = app_token, secret_key, webhook_secret
        self.applicants: dict[str, dict] = {}
        self.calls: list[tuple[str, str, int]] = []
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, answer = fake.handle("POST", self.path, self.headers, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def _signed(self, method: str, path: str, headers, body: bytes) -> bool:
        ts = headers.get("X-App-Access-Ts") or ""
        if headers.get("X-App-Token") != self.app_token or not ts.isdigit() or abs(time.time() - int(ts)) > 60:
            return False
        expected = hmac.new(self.secret_key.encode(), ts.encode() + method.encode() + path.encode() + body,
                            hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, headers.get("X-App-Access-Sig") or "")

    def handle(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict]:
        if not self._signed(method, path, headers, body):
            self.calls.append((method, path, 401))
            return 401, {"description": "Request signature mismatch", "code": 401, "correlationId": "x"}
        url = urlparse(path)
        payload = json.loads(body or b"{}")
        if url.path == "/resources/applicants":
            level = parse_qs(url.query).get("levelName", [""])[0]
            if not level:
                return 400, {"description": "levelName is required", "code": 400}
            applicant_id = secrets.token_hex(12)
            self.applicants[applicant_id] = {"id": applicant_id, "externalUserId": payload["externalUserId"],
                                             "levelName": level, "createdAt": "2026-11-25 12:00:00"}
            self.calls.append((method, url.path, 200))
            return 200, self.applicants[applicant_id]
        if url.path == "/resources/accessTokens/sdk":
            self.calls.append((method, url.path, 200))
            return 200, {"token": f"_act-sbx-{secrets.token_hex(16)}", "userId": payload["userId"]}
        return 404, {"description": "Not found", "code": 404}

    def webhook(self, target_url: str, *, applicant_id: str, answer: str = "GREEN", labels=(), forge: bool = False,
                alg: str = "HMAC_SHA256_HEX", client=None):
        """Post an `applicantReviewed` webhook to `target_url` (a Django test client may stand in for HTTP)."""
        applicant = self.applicants[applicant_id]
        event = {"applicantId": applicant_id, "inspectionId": secrets.token_hex(12), "correlationId": "c",
                 "externalUserId": applicant["externalUserId"], "levelName": applicant["levelName"],
                 "type": "applicantReviewed", "reviewStatus": "completed", "createdAtMs": "2026-11-25 12:00:01.000",
                 "reviewResult": {"reviewAnswer": answer, "rejectLabels": list(labels),
                                  **({"reviewRejectType": "RETRY"} if answer == "RED" else {})}}
        body = json.dumps(event).encode()
        fn = {"HMAC_SHA1_HEX": hashlib.sha1, "HMAC_SHA256_HEX": hashlib.sha256, "HMAC_SHA512_HEX": hashlib.sha512}[alg]
        secret = b"not-the-secret" if forge else self.webhook_secret.encode()
        headers = {"X-Payload-Digest": hmac.new(secret, body, fn).hexdigest(), "X-Payload-Digest-Alg": alg,
                   "Content-Type": "application/json"}
        if client is not None:
            return client.post(target_url, data=body, content_type="application/json",
                               headers={k: v for k, v in headers.items() if k != "Content-Type"})
        return httpx.post(target_url, content=body, headers=headers)
