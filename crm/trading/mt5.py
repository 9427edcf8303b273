"""A client for MetaQuotes' MetaTrader 5 Web API: the HTTPS/JSON interface a broker's manager account speaks.

Protocol (MetaQuotes' MT5 Web API documentation, "Connection and authorization", and the public sample clients
built on it):

- A challenge login. ``GET /api/auth/start?version=&agent=&login=&type=manager`` answers ``{"retcode": "0 Done",
  "srv_rand": "<hex>"}``. The client proves the password without sending it:
  ``password_hash = MD5(MD5(password as UTF-16LE) + b"WebAPI")`` and
  ``srv_rand_answer = MD5(password_hash + bytes.fromhex(srv_rand))``, sent with its own random ``cli_rand`` (32 hex)
  to ``GET /api/auth/answer?srv_rand_answer=&cli_rand=``; the server answers ``cli_rand_answer``, which must equal
  ``MD5(password_hash + bytes.fromhex(cli_rand))`` — so the client also knows it talks to the real server.
- The login belongs to the keep-alive connection: every later request must travel on the same TCP connection.
  This client therefore holds exactly one connection (``max_connections=1``) and serializes requests on it.
- Every answer carries ``retcode`` as ``"<number> <text>"``: ``"0 Done"`` on success; the payload is ``answer``.
  A request on a connection that is no longer authorized (session expired, server restarted the connection) is
  answered 403 or with retcode 8 ("not enough permissions"); the client logs in again once and repeats it —
  for reads only. A write whose answer was lost is never repeated blindly: the caller looks it up (see
  ``crm.trading.bridge``, which finds a posted deal by its comment).

Requests used (paths as in the Web API reference): ``user/add``, ``user/get``, ``user/account/get``,
``user/account/get_batch``, ``trade/balance`` (deal types 2 balance, 3 credit, 4 charge, 5 correction, 6 bonus),
``deal/get_page``, ``position/get_page``, ``deal/get_batch`` and ``position/get_batch`` (by group mask).
Numbers in answers come as strings; they are parsed here.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import httpx

log = logging.getLogger(__name__)

WEBAPI_VERSION = 3470  # the client build reported at auth/start; servers accept any recent number
RET_OK = 0
RET_NOT_FOUND = 13
RET_PERMISSIONS = 8
RET_USER_EXISTS = 3004  # MT_RET_USR_LOGIN_EXIST

# Deal types of trade/balance (IMTDeal::EnDealAction).
DEAL_BALANCE = 2
DEAL_CREDIT = 3
DEAL_CHARGE = 4
DEAL_CORRECTION = 5
DEAL_BONUS = 6


class MT5Error(Exception):
    """The server answered with a non-zero retcode."""

    def __init__(self, retcode: int, text: str, path: str = ""):
        super().__init__(f"{path}: {retcode} {text}".strip(": "))
        self.retcode = retcode
        self.text = text


class MT5Unavailable(Exception):
    """No answer (connection refused, timeout, a dropped connection): the outcome of a write is unknown."""


class MT5AuthError(MT5Error):
    """The challenge login failed: wrong manager password, or the server's own answer was wrong."""


def password_hash(password: str) -> bytes:
    return hashlib.md5(hashlib.md5(password.encode("utf-16-le")).digest() + b"WebAPI").digest()


def answer_for(pw_hash: bytes, rand_hex: str) -> str:
    return hashlib.md5(pw_hash + bytes.fromhex(rand_hex)).hexdigest()


def parse_retcode(raw) -> tuple[int, str]:
    text = str(raw if raw is not None else "")
    number, _, rest = text.partition(" ")
    try:
        return int(number), rest
    except ValueError:
        return -1, text


def dec(value, default: str = "0") -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else default))
    except InvalidOperation:
        return Decimal(default)


@dataclass(frozen=True)
class PlatformAccount:
    """What the platform says about an account (user/account/get): the trading side of its state."""

    login: int
    balance: Decimal
    credit: Decimal
    equity: Decimal
    profit: Decimal
    margin: Decimal
    margin_free: Decimal
    margin_level: Decimal | None

    @classmethod
    def from_answer(cls, a: dict) -> PlatformAccount:
        margin = dec(a.get("Margin"))
        level = dec(a.get("MarginLevel"))
        return cls(login=int(a.get("Login")), balance=dec(a.get("Balance")), credit=dec(a.get("Credit")),
                   equity=dec(a.get("Equity")), profit=dec(a.get("Profit")), margin=margin,
                   margin_free=dec(a.get("MarginFree")), margin_level=level if margin else None)


class MT5Client:
    """One authorized keep-alive connection to an MT5 Web API server. Thread-safe (requests are serialized)."""

    def __init__(self, url: str, login: str | int, password: str, *, timeout: float = 10.0, verify: bool = True,
                 agent: str = "BrokerCRM"):
        self.url = url.rstrip("/")
        self.login = str(login)
        self._hash = password_hash(password)
        self.agent = agent
        self._http = httpx.Client(base_url=self.url, timeout=timeout, verify=verify,
                                  limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))
        self._lock = threading.RLock()
        self._authorized = False

    def close(self) -> None:
        with self._lock:
            self._authorized = False
            self._http.close()

    # --- the handshake ----------------------------------------------------------------------------------------

    def _send(self, path: str, params: dict | None = None, body: dict | list | None = None) -> httpx.Response:
        try:
            if body is None:
                return self._http.get(path, params=params)
            return self._http.post(path, params=params, json=body)
        except httpx.HTTPError as exc:  # refused, timed out, reset: the connection (and its login) is gone
            self._authorized = False
            raise MT5Unavailable(f"{path}: {exc.__class__.__name__}") from exc

    @staticmethod
    def _json(response: httpx.Response, path: str) -> dict:
        try:
            data = response.json()
        except ValueError as exc:
            raise MT5Unavailable(f"{path}: HTTP {response.status_code} without a JSON answer") from exc
        if not isinstance(data, dict):
            raise MT5Unavailable(f"{path}: unexpected answer")
        return data

    def authorize(self) -> None:
        with self._lock:
            self._authorized = False
            start = self._json(self._send("/api/auth/start", {"version": WEBAPI_VERSION, "agent": self.agent,
                                                               "login": self.login, "type": "manager"}),
                               "auth/start")
            code, text = parse_retcode(start.get("retcode"))
            if code != RET_OK or not start.get("srv_rand"):
                raise MT5AuthError(code, text or "auth/start refused", "auth/start")
            cli_rand = secrets.token_hex(16)
            try:
                srv_answer = answer_for(self._hash, start["srv_rand"])
            except ValueError as exc:
                raise MT5AuthError(-1, "srv_rand is not hex", "auth/start") from exc
            answer = self._json(self._send("/api/auth/answer", {"srv_rand_answer": srv_answer,
                                                                 "cli_rand": cli_rand}), "auth/answer")
            code, text = parse_retcode(answer.get("retcode"))
            if code != RET_OK:
                raise MT5AuthError(code, text or "auth/answer refused", "auth/answer")
            expected = answer_for(self._hash, cli_rand)
            if not secrets.compare_digest(str(answer.get("cli_rand_answer", "")), expected):
                raise MT5AuthError(-1, "the server's cli_rand_answer is wrong: not the server we know", "auth/answer")
            self._authorized = True

    # --- requests ---------------------------------------------------------------------------------------------

    def call(self, path: str, params: dict | None = None, body: dict | list | None = None, *,
             retry_on_reauth: bool = True):
        """`answer` of a request under the connection's login; logs in first when needed."""
        with self._lock:
            if not self._authorized:
                self.authorize()
            response = self._send(f"/api/{path}", params, body)
            expired = response.status_code in (401, 403)
            data = None if expired else self._json(response, path)
            code, text = parse_retcode(data.get("retcode")) if data else (RET_PERMISSIONS, "not authorized")
            if expired or code == RET_PERMISSIONS:
                # The connection lost its login (the request was refused, not executed): log in again, once.
                self._authorized = False
                if not retry_on_reauth:
                    raise MT5Error(code, text, path)
                return self.call(path, params, body, retry_on_reauth=False)
            if code != RET_OK:
                raise MT5Error(code, text, path)
            return data.get("answer")

    def user_add(self, *, login: int, group: str, name: str, leverage: int, country: str = "", comment: str = "",
                 pass_main: str, pass_investor: str) -> int:
        """Add a platform user (login 0 lets the server choose); returns the login the server used."""
        answer = self.call("user/add", {"pass_main": pass_main, "pass_investor": pass_investor},
                           {"Login": str(login), "Group": group, "Name": name, "Leverage": str(leverage),
                            "Country": country, "Comment": comment[:63]})
        return int((answer or {}).get("Login") or login)

    def user_get(self, login: int) -> dict | None:
        try:
            return self.call("user/get", {"login": login})
        except MT5Error as exc:
            if exc.retcode == RET_NOT_FOUND:
                return None
            raise

    def accounts(self, logins: list[int]) -> dict[int, PlatformAccount]:
        """Trading state of many accounts in one request (user/account/get_batch)."""
        if not logins:
            return {}
        answer = self.call("user/account/get_batch", {"login": ",".join(str(x) for x in logins)}) or []
        out = {}
        for item in answer:
            account = PlatformAccount.from_answer(item)
            out[account.login] = account
        return out

    def account(self, login: int) -> PlatformAccount | None:
        try:
            answer = self.call("user/account/get", {"login": login})
        except MT5Error as exc:
            if exc.retcode == RET_NOT_FOUND:
                return None
            raise
        return PlatformAccount.from_answer(answer)

    def trade_balance(self, *, login: int, deal_type: int, amount: Decimal, comment: str) -> int:
        """Post a balance-type deal; returns its ticket. `amount` is signed (negative takes money off)."""
        answer = self.call("trade/balance", {"login": login, "type": deal_type, "balance": str(amount),
                                             "comment": comment[:31], "check_margin": 0})
        return int((answer or {}).get("ticket") or 0)

    def deals(self, login: int, *, since: int = 0, until: int = 2**31 - 1) -> list[dict]:
        """Deals of one account between two Unix times (deal/get_page, paged by 100)."""
        out: list[dict] = []
        offset = 0
        while True:
            page = self.call("deal/get_page", {"login": login, "from": since, "to": until, "offset": offset,
                                               "total": 100}) or []
            out.extend(page)
            if len(page) < 100:
                return out
            offset += 100

    def positions(self, login: int) -> list[dict]:
        return self.call("position/get_page", {"login": login, "offset": 0, "total": 1000}) or []

    def group_deals(self, group: str, *, since: int, until: int) -> list[dict]:
        return self.call("deal/get_batch", {"group": group, "from": since, "to": until}) or []

    def group_positions(self, group: str) -> list[dict]:
        return self.call("position/get_batch", {"group": group}) or []
