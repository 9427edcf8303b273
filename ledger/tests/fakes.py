"""Local fake payment providers: real HTTP servers on 127.0.0.1 that behave like BridgerPay and Praxis."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ledger.providers.praxis import NOTIFICATION_FIELDS, REQUEST_FIELDS, RESPONSE_FIELDS, signature


class FakeServer:
    def __init__(self):
        self.requests: list[tuple[str, dict, dict]] = []
        self.fail_with: int | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append((self.path, dict(self.headers), body))
                if fake.fail_with:
                    self.send_response(fake.fail_with)
                    self.end_headers()
                    return
                status, headers, payload = fake.handle(self.path, dict(self.headers), body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class FakeBridgerPay(FakeServer):
    USER, PASSWORD, API_KEY, CASHIER_KEY = "merchant", "secret-pass", "api-key-1", "cashier-key-1"

    def __init__(self):
        self.tokens: set[str] = set()
        self.logins = 0
        self.sessions: dict[str, dict] = {}
        super().__init__()

    def handle(self, path, headers, body):
        if path == "/v2/auth/login":
            if body.get("user_name") != self.USER or body.get("password") != self.PASSWORD:
                return 403, {}, {"response": {"status": "Forbidden", "code": 403, "message": "login_failue"}}
            token = uuid.uuid4().hex
            self.tokens.add(token)
            self.logins += 1
            return 200, {}, {"result": {"access_token": {"token": token, "expires_in": 7200}}}
        if path == f"/v2/cashier/session/create/{self.API_KEY}":
            bearer = headers.get("Authorization", "").removeprefix("Bearer ")
            if bearer not in self.tokens:
                return 401, {}, {"response": {"code": 401}}
            if body.get("cashier_key") != self.CASHIER_KEY or not all(body.get(k) for k in ("order_id", "currency",
                                                                                              "country")):
                return 400, {}, {"response": {"code": 400}}
            token = uuid.uuid4().hex
            self.sessions[body["order_id"]] = body
            return 200, {}, {"result": {"cashier_token": token}}
        return 404, {}, {}

    def notification(self, order_id: str, kind: str, *, amount=None, currency=None, payload=None) -> bytes:
        session = self.sessions[order_id]
        return json.dumps({
            "webhook": {"type": kind},
            "data": {"order_id": order_id, "payload": session.get("payload") if payload is None else payload,
                     "charge": {"id": f"ch_{order_id}_{kind}", "type": kind,
                                "attributes": {"status": kind, "amount": float(amount or session["amount"]),
                                               "currency": currency or session["currency"]}}},
        }).encode()


class FakePraxis(FakeServer):
    MERCHANT, APP, SECRET = "merchant-1", "app-1", "praxis-secret"

    def __init__(self):
        self.sessions: dict[str, dict] = {}
        super().__init__()

    def handle(self, path, headers, body):
        if path != "/cashier/cashier":
            return 404, {}, {}
        if headers.get("gt-authentication") != signature(body, REQUEST_FIELDS, self.SECRET):
            return 200, {}, {"status": 1, "description": "Invalid signature"}
        self.sessions[body["order_id"]] = body
        reply = {"status": 0, "timestamp": int(time.time()),
                 "redirect_url": f"{self.url}/cashier/{body['order_id']}",
                 "session": {"auth_token": uuid.uuid4().hex, "order_id": body["order_id"]}}
        return 200, {"gt-authentication": signature(reply, RESPONSE_FIELDS, self.SECRET)}, reply

    def notification(self, order_id: str, status: str, *, tid: int = 1, secret: str | None = None,
                     timestamp: int | None = None) -> tuple[dict, bytes]:
        session = self.sessions[order_id]
        data = {"merchant_id": self.MERCHANT, "application_key": self.APP, "version": "1.3",
                "timestamp": timestamp or int(time.time()), "conversion_rate": None,
                "customer": {"customer_token": f"tok{session['cid']}"},
                "session": {"order_id": order_id},
                "transaction": {"tid": tid, "transaction_status": status, "currency": session["currency"],
                                "amount": session["amount"], "conversion_rate": None,
                                "processed_currency": session["currency"], "processed_amount": session["amount"]}}
        headers = {"gt-authentication": signature(data, NOTIFICATION_FIELDS, secret or self.SECRET)}
        return headers, json.dumps(data).encode()
