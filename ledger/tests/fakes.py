"""Local fake payment providers: real HTTP servers on 127.0.0.1 that behave like BridgerPay and Praxis."""

from __future__ import annotations

import json
import threading
import time
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ledger.currencies import to_minor
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
        self.payouts: dict[str, dict] = {}
        super().__init__()

    def revoke_tokens(self):
        """Like a token revoked on BridgerPay's side before its two hours: the next call with it gets 401."""
        self.tokens.clear()

    def _authorized(self, headers) -> bool:
        return headers.get("Authorization", "").removeprefix("Bearer ") in self.tokens

    def handle(self, path, headers, body):
        if path == "/v2/auth/login":
            if body.get("user_name") != self.USER or body.get("password") != self.PASSWORD:
                return 403, {}, {"response": {"status": "Forbidden", "code": 403, "message": "login_failue"}}
            token = uuid.uuid4().hex
            self.tokens.add(token)
            self.logins += 1
            return 200, {}, {"result": {"access_token": {"token": token, "expires_in": 7200}}}
        if path == f"/v2/cashier/session/create/{self.API_KEY}":
            if not self._authorized(headers):
                return 401, {}, {"response": {"code": 401}}
            if body.get("cashier_key") != self.CASHIER_KEY or not all(body.get(k) for k in ("order_id", "currency",
                                                                                              "country")):
                return 400, {}, {"response": {"code": 400}}
            if not isinstance(body.get("amount"), (int, float)):  # the docs' example sends a number
                return 400, {}, {"response": {"code": 400, "message": "amount must be a number"}}
            token = uuid.uuid4().hex
            self.sessions[body["order_id"]] = body
            return 200, {}, {"result": {"cashier_token": token}}
        if path == f"/v2/{self.API_KEY}/payouts":
            if not self._authorized(headers):
                return 401, {}, {"response": {"code": 401, "message": "merchant api key is invalid"}}
            if not all(body.get(k) for k in ("order_id", "provider", "country", "currency", "payout_method_type")) \
                    or not isinstance(body.get("amount"), (int, float)) or body["amount"] <= 0:
                return 400, {}, {"response": {"status": "BadRequest", "code": 400},
                                 "result": [{"type": "validation_error", "field": "amount"}]}
            result = {"id": uuid.uuid4().hex[:8], "transaction_id": uuid.uuid4().hex[:8], "amount": body["amount"],
                      "status": "Pending", "currency": body["currency"], "payout_method": body["payout_method_type"]}
            self.payouts[body["order_id"]] = {**body, "result": result}
            return 200, {}, {"response": {"status": "OK", "code": 200}, "result": result}
        return 404, {}, {}

    def payout_notification(self, order_id: str, kind: str, *, amount=None) -> bytes:
        """The `approved` / `declined` notification of a payout (no payload: a payout has no cashier session)."""
        payout = self.payouts[order_id]
        return json.dumps({"webhook": {"type": kind},
                           "data": {"order_id": order_id,
                                    "charge": {"id": payout["result"]["transaction_id"], "type": kind,
                                               "attributes": {"status": kind,
                                                              "amount": amount or payout["amount"],
                                                              "currency": payout["currency"]}}}}).encode()

    def notification(self, order_id: str, kind: str, *, amount=None, currency=None, payload=None,
                     payload_in: str = "data", charge_id: str | None = None) -> bytes:
        """A notification shaped like the docs' examples; `payload_in` says where the echo sits ("data" or
        "meta": the docs do not settle it)."""
        session = self.sessions[order_id]
        echo = session.get("payload") if payload is None else payload
        data = {"order_id": order_id,
                "charge": {"id": charge_id or f"ch_{order_id}_{kind}", "type": kind,
                           "attributes": {"status": kind, "amount": float(amount or session["amount"]),
                                          "currency": currency or session["currency"]}}}
        message = {"webhook": {"type": kind}, "data": data}
        if payload_in == "data":
            data["payload"] = echo
        else:
            message["meta"] = {"payload": echo}
        return json.dumps(message).encode()


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
                     timestamp: int | None = None, amount: str | None = None, transaction_type: str = "sale",
                     expired: bool = False) -> tuple[dict, bytes]:
        """A signed notification as the docs describe it: `amount` (major units, e.g. "95.00") is sent in the
        currency's ISO 4217 minor units; `expired` sends the session-expired form (`transaction` null,
        `session.session_status` "expired")."""
        session = self.sessions[order_id]
        minor = session["amount"] if amount is None else to_minor(Decimal(amount), session["currency"])
        data = {"merchant_id": self.MERCHANT, "application_key": self.APP, "version": "1.3",
                "timestamp": timestamp or int(time.time()), "conversion_rate": None,
                "customer": {"customer_token": f"tok{session['cid']}"},
                "session": {"order_id": order_id, "session_status": "expired" if expired else "open",
                            "currency": session["currency"], "amount": session["amount"]},
                "transaction": None if expired else {
                    "tid": tid, "transaction_type": transaction_type, "transaction_status": status,
                    "currency": session["currency"], "amount": minor, "conversion_rate": None,
                    "processed_currency": session["currency"], "processed_amount": minor}}
        headers = {"gt-authentication": signature(data, NOTIFICATION_FIELDS, secret or self.SECRET)}
        return headers, json.dumps(data).encode()
