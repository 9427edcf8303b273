"""Sumsub adapter, after its public API reference (docs.sumsub.com/reference):

- every request carries X-App-Token, X-App-Access-Ts (Unix seconds) and X-App-Access-Sig: the lower-case hex
  HMAC-SHA256, keyed with the app token's secret, of ts + METHOD + path-with-query + body bytes;
- `POST /resources/applicants?levelName=<level>` `{"externalUserId"}` creates an applicant (→ `{"id", …}`);
- `POST /resources/accessTokens/sdk` `{"userId", "levelName", "ttlInSecs"}` → `{"token", "userId"}` for the
  web SDK;
- webhooks carry X-Payload-Digest, the hex HMAC of the raw body with the webhook's secret, and
  X-Payload-Digest-Alg (HMAC_SHA1_HEX, HMAC_SHA256_HEX — the default —, HMAC_SHA512_HEX); `applicantReviewed`
  has `reviewResult.reviewAnswer` GREEN or RED with `rejectLabels`.

Results feed the review queue (provider fields on the customer's pending documents); they approve on their own
only when `KycSettings.provider_auto_approve` is on, and never reject on their own."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from urllib.parse import urlencode

import httpx
from django.db import transaction
from django.utils import timezone

from . import conf
from .models import DocumentStatus, KycApplicant, KycDocument, KycSettings
from .services import InvalidJson, InvalidSignature, KycError, _activity, _audit, kyc_sync

log = logging.getLogger(__name__)

DIGEST_ALGS = {"HMAC_SHA1_HEX": hashlib.sha1, "HMAC_SHA256_HEX": hashlib.sha256, "HMAC_SHA512_HEX": hashlib.sha512}


class SumsubUnavailable(KycError):
    code = "provider_unavailable"
    status = 503


def sign(*, secret: str, ts: str, method: str, path: str, body: bytes) -> str:
    """X-App-Access-Sig for one request."""
    message = ts.encode() + method.upper().encode() + path.encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def external_user_id(customer_id: int) -> str:
    return f"customer-{customer_id}"


class SumsubClient:
    def __init__(self, *, base_url: str, app_token: str, secret_key: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.app_token = app_token
        self.secret_key = secret_key
        self.timeout = timeout

    def _request(self, method: str, path: str, payload: dict | None = None) -> dict:
        body = json.dumps(payload).encode() if payload is not None else b""
        ts = str(int(time.time()))
        headers = {"X-App-Token": self.app_token, "X-App-Access-Ts": ts, "Accept": "application/json",
                   "X-App-Access-Sig": sign(secret=self.secret_key, ts=ts, method=method, path=path, body=body),
                   "Content-Type": "application/json"}
        try:
            response = httpx.request(method, self.base_url + path, content=body, headers=headers,
                                     timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise SumsubUnavailable(f"Sumsub did not answer: {type(exc).__name__}.") from None
        if response.status_code >= 400:
            log.warning("sumsub %s %s answered %s", method, path.split("?")[0], response.status_code)
            raise SumsubUnavailable(f"Sumsub refused the request ({response.status_code}).")
        return response.json()

    def applicant_create(self, *, external_user_id: str, level_name: str) -> dict:
        path = "/resources/applicants?" + urlencode({"levelName": level_name})
        return self._request("POST", path, {"externalUserId": external_user_id})

    def sdk_access_token(self, *, user_id: str, level_name: str, ttl_seconds: int = 600) -> dict:
        return self._request("POST", "/resources/accessTokens/sdk",
                             {"userId": user_id, "levelName": level_name, "ttlInSecs": ttl_seconds})


def client() -> SumsubClient:
    if not (conf.SUMSUB_API_URL and conf.SUMSUB_APP_TOKEN and conf.SUMSUB_SECRET_KEY):
        raise SumsubUnavailable("Identity verification through Sumsub is not configured.")
    return SumsubClient(base_url=conf.SUMSUB_API_URL, app_token=conf.SUMSUB_APP_TOKEN,
                        secret_key=conf.SUMSUB_SECRET_KEY)


def applicant_ensure(*, customer) -> KycApplicant:
    """The customer's Sumsub applicant, created on first use."""
    existing = KycApplicant.objects.filter(customer=customer).first()
    if existing:
        return existing
    answer = client().applicant_create(external_user_id=external_user_id(customer.pk),
                                       level_name=conf.SUMSUB_LEVEL_NAME)
    applicant, _ = KycApplicant.objects.get_or_create(
        customer=customer, defaults={"applicant_id": str(answer["id"]), "level_name": conf.SUMSUB_LEVEL_NAME})
    return applicant


def sdk_token_for(*, customer) -> tuple[str, str]:
    applicant_ensure(customer=customer)
    user_id = external_user_id(customer.pk)
    answer = client().sdk_access_token(user_id=user_id, level_name=conf.SUMSUB_LEVEL_NAME)
    return answer["token"], answer.get("userId", user_id)


def digest_valid(*, headers, body: bytes, secret: str) -> bool:
    alg = DIGEST_ALGS.get(headers.get("X-Payload-Digest-Alg") or "HMAC_SHA256_HEX")
    given = headers.get("X-Payload-Digest") or ""
    if alg is None or not given or not secret:
        return False
    return hmac.compare_digest(hmac.new(secret.encode(), body, alg).hexdigest(), given.lower())


def webhook_receive(*, headers, body: bytes) -> str:
    """Verify and apply one webhook; returns "applied" or "ignored". A forged digest is 401 invalid_signature."""
    if not digest_valid(headers=headers, body=body, secret=conf.SUMSUB_WEBHOOK_SECRET):
        raise InvalidSignature("The payload digest is missing or wrong.")
    try:
        event = json.loads(body)
    except ValueError:
        raise InvalidJson("The body is not JSON.") from None
    if not isinstance(event, dict) or event.get("type") != "applicantReviewed":
        return "ignored"
    applicant = KycApplicant.objects.filter(applicant_id=str(event.get("applicantId", ""))).select_related(
        "customer").first()
    if applicant is None:
        return "ignored"
    result = event.get("reviewResult") or {}
    answer = str(result.get("reviewAnswer", ""))[:20]
    labels = [str(x)[:60] for x in (result.get("rejectLabels") or [])][:20]
    provider_result_apply(applicant=applicant, answer=answer, labels=labels,
                          reference=str(event.get("inspectionId") or event.get("applicantId"))[:120])
    return "applied"


@transaction.atomic
def provider_result_apply(*, applicant: KycApplicant, answer: str, labels: list[str], reference: str) -> int:
    """Record the provider's answer on the customer's pending documents (the review queue shows it). With
    provider_auto_approve on, GREEN approves them (no reviewer); RED never rejects on its own."""
    from customers.models import Customer

    customer = Customer.objects.select_for_update(of=("self",)).get(pk=applicant.customer_id)
    KycApplicant.objects.filter(pk=applicant.pk).update(review_answer=answer, reject_labels=labels)
    now = timezone.now()
    docs = list(KycDocument.objects.select_for_update().filter(customer=customer, status=DocumentStatus.PENDING))
    auto = KycSettings.current().provider_auto_approve and answer == "GREEN"
    for doc in docs:
        doc.provider, doc.provider_reference, doc.provider_result = "sumsub", reference, answer
        doc.provider_labels, doc.provider_checked_at = labels, now
        fields = ["provider", "provider_reference", "provider_result", "provider_labels", "provider_checked_at"]
        if auto:
            doc.status, doc.reviewed_at, doc.reason = DocumentStatus.APPROVED, now, ""
            fields += ["status", "reviewed_at", "reason"]
        doc.save(update_fields=fields)
        _activity(doc, "kyc.document.provider_result", f"Sumsub: {answer}" + (" (approved automatically)"
                                                                                if auto else ""),
                  answer=answer, labels=labels)
        _audit(None, "kyc.document.provider_result", doc, provider="sumsub", answer=answer, labels=labels,
               auto_approved=auto)
    if auto and docs:
        kyc_sync(customer=customer, by=None)
    return len(docs)
