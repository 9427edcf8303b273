"""A local MT5 Web API server for tests (real HTTP on 127.0.0.1), after MetaQuotes' public description.

It speaks the challenge login (auth/start → srv_rand, auth/answer with srv_rand_answer and cli_rand → checked,
cli_rand_answer returned), keeps the login per keep-alive connection (a new connection is not authorized), answers
`{"retcode": "0 Done", "answer": …}`, and implements the requests the bridge uses. Knobs for failures: a retcode for
the next call of a path, a dropped answer after the work is done (a lost response), a delay (timeouts), expired
sessions, and a wrong server answer in the handshake.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def _hash(password: str) -> bytes:
    return hashlib.md5(hashlib.md5(password.encode("utf-16-le")).digest() + b"WebAPI").digest()


class FakeMT5:
    def __init__(self, manager_login: str = "1001", password: str = "manager-secret"):
        self.manager_login = manager_login
        self.pw_hash = _hash(password)
        self.users: dict[int, dict] = {}
        self.accounts: dict[int, dict] = {}  # login → Balance, Credit, Profit, Margin (Decimals)
        self.deals: list[dict] = []
        self.positions: list[dict] = []
        self.fail_next: dict[str, list[str]] = {}
        self.drop_answer: dict[str, int] = {}
        self.delay: dict[str, float] = {}
        self.wrong_server_answer = False
        self.generation = 0  # bump to expire every session
        self.logins = 0
        self.connections = 0
        self.calls: list[str] = []
        self.lock = threading.Lock()
        self._next_ticket = 50_000
        self.server: ThreadingHTTPServer | None = None

    # --- control ---------------------------------------------------------------------------------------------
    def start(self) -> str:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def expire_sessions(self) -> None:
        self.generation += 1

    def set_trading(self, login: int, *, profit: str, margin: str) -> None:
        with self.lock:
            self.accounts[login]["Profit"] = Decimal(profit)
            self.accounts[login]["Margin"] = Decimal(margin)

    def balance_deals(self, login: int | None = None) -> list[dict]:
        return [d for d in self.deals if int(d["Action"]) >= 2 and (login is None or d["Login"] == login)]

    # --- state -----------------------------------------------------------------------------------------------
    def account_answer(self, login: int) -> dict:
        a = self.accounts[login]
        equity = a["Balance"] + a["Credit"] + a["Profit"]
        level = (equity / a["Margin"] * 100).quantize(Decimal("0.01")) if a["Margin"] else Decimal("0")
        return {"Login": str(login), "CurrencyDigits": "2", "Balance": f"{a['Balance']:.2f}",
                "Credit": f"{a['Credit']:.2f}", "Margin": f"{a['Margin']:.2f}",
                "MarginFree": f"{equity - a['Margin']:.2f}", "MarginLevel": f"{level:.2f}",
                "Profit": f"{a['Profit']:.2f}", "Equity": f"{equity:.2f}"}

    def handle(self, path: str, q: dict, body) -> tuple[str, object]:
        if path == "user/get":
            user = self.users.get(int(q["login"]))
            return ("0 Done", user) if user else ("13 Not found", None)
        if path == "user/add":
            if not q.get("pass_main") or not q.get("pass_investor"):
                return "3 Invalid parameters", None
            login = int(body.get("Login") or 0) or max([100_000, *self.users]) + 1
            if login in self.users:
                return "3004 User with the same login already exists", None
            self.users[login] = {**body, "Login": str(login)}
            self.accounts[login] = {"Balance": Decimal("0"), "Credit": Decimal("0"), "Profit": Decimal("0"),
                                    "Margin": Decimal("0")}
            return "0 Done", self.users[login]
        if path == "user/account/get":
            login = int(q["login"])
            return ("0 Done", self.account_answer(login)) if login in self.accounts else ("13 Not found", None)
        if path == "user/account/get_batch":
            logins = [int(x) for x in q["login"].split(",") if x]
            return "0 Done", [self.account_answer(x) for x in logins if x in self.accounts]
        if path == "trade/balance":
            login, kind, amount = int(q["login"]), int(q["type"]), Decimal(q["balance"])
            if login not in self.accounts:
                return "13 Not found", None
            if kind not in (2, 3, 4, 5, 6):
                return "3 Invalid parameters", None
            self._next_ticket += 1
            bucket = "Credit" if kind == 3 else "Balance"
            self.accounts[login][bucket] += amount
            self.deals.append({"Deal": str(self._next_ticket), "Login": login, "Action": str(kind),
                               "Profit": f"{amount:.2f}", "Comment": q.get("comment", ""),
                               "Time": str(int(time.time()))})
            return "0 Done", {"ticket": str(self._next_ticket)}
        if path == "deal/get_page":
            login, since, until = int(q["login"]), int(q["from"]), int(q["to"])
            rows = [d for d in self.deals if d["Login"] == login and since <= int(d["Time"]) <= until]
            offset, total = int(q.get("offset", 0)), int(q.get("total", 100))
            return "0 Done", [{**d, "Login": str(d["Login"])} for d in rows[offset:offset + total]]
        if path == "deal/get_batch":
            since, until = int(q["from"]), int(q["to"])
            return "0 Done", [{**d, "Login": str(d["Login"])} for d in self.deals
                              if since <= int(d["Time"]) <= until]
        if path == "position/get_page":
            return "0 Done", [p for p in self.positions if int(p["Login"]) == int(q["login"])]
        if path == "position/get_batch":
            return "0 Done", list(self.positions)
        return "3 Invalid parameters", None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the login belongs to this connection
    fake: FakeMT5

    def setup(self):
        super().setup()
        self.srv_rand: bytes | None = None
        self.session: int | None = None  # the generation this connection logged in at
        with self.fake.lock:
            self.fake.connections += 1

    def log_message(self, *args):
        pass

    def _reply(self, status: int, data: dict | None = None) -> None:
        payload = json.dumps(data or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        self._dispatch(None)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        self._dispatch(json.loads(raw or b"{}"))

    def _dispatch(self, body):
        fake = self.fake
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path.removeprefix("/api/")
        fake.calls.append(path)
        if path == "auth/start":
            if q.get("login") != fake.manager_login or q.get("type") != "manager":
                return self._reply(200, {"retcode": "3 Invalid parameters"})
            self.srv_rand = secrets.token_bytes(16)
            return self._reply(200, {"retcode": "0 Done", "version": "3470", "srv_rand": self.srv_rand.hex()})
        if path == "auth/answer":
            expected = hashlib.md5(fake.pw_hash + (self.srv_rand or b"")).hexdigest()
            if self.srv_rand is None or q.get("srv_rand_answer") != expected:
                self.srv_rand = None
                return self._reply(200, {"retcode": "1002 Invalid account or password"})
            cli = bytes.fromhex(q["cli_rand"])
            answer = hashlib.md5(fake.pw_hash + cli).hexdigest()
            if fake.wrong_server_answer:
                answer = hashlib.md5(b"not the server" + cli).hexdigest()
            self.session = fake.generation
            with fake.lock:
                fake.logins += 1
            return self._reply(200, {"retcode": "0 Done", "cli_rand_answer": answer})
        if self.session is None or self.session != fake.generation:
            return self._reply(403, {"retcode": "8 Not enough permissions"})
        if fake.delay.get(path):
            time.sleep(fake.delay[path])
        with fake.lock:
            failures = fake.fail_next.get(path)
            if failures:
                return self._reply(200, {"retcode": failures.pop(0)})
            retcode, answer = fake.handle(path, q, body or {})
            drop = fake.drop_answer.get(path, 0)
            if drop:
                fake.drop_answer[path] = drop - 1
        if drop:  # the work is done, the answer never arrives
            self.close_connection = True
            self.connection.close()
            return
        self._reply(200, {"retcode": retcode, "answer": answer})
