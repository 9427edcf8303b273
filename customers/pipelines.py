"""The three status pipelines of a customer — sales, KYC, finance — declared in one place.

Each pipeline is a django-fsm-2 field on `Customer` with `protected=True`; its statuses and allowed moves are
the data below, from which the model's transition methods are generated (see `Customer.pipeline_transition`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class SalesStatus(models.TextChoices):
    NEW = "new"
    CONTACTED = "contacted"
    NO_ANSWER = "no_answer"
    CALLBACK = "callback"
    INTERESTED = "interested"
    NOT_INTERESTED = "not_interested"
    CONVERTED = "converted"
    LOST = "lost"


class KycStatus(models.TextChoices):
    NOT_SUBMITTED = "not_submitted"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class FinanceStatus(models.TextChoices):
    NO_DEPOSIT = "no_deposit"
    DEPOSITOR = "depositor"
    VIP = "vip"
    FROZEN = "frozen"


@dataclass(frozen=True)
class Pipeline:
    name: str
    field: str
    statuses: type[models.TextChoices]
    permission: str
    # target -> allowed sources ("*" = any status but the target)
    moves: dict[str, tuple[str, ...]]
    # Sales statuses belong to whoever owns the customer (edit scope); KYC and finance are run by compliance and
    # finance, who see customers they do not edit: their permission and visibility suffice.
    needs_edit_scope: bool = False

    def allowed_targets(self, current: str) -> list[str]:
        return [t for t, sources in self.moves.items() if t != current and ("*" in sources or current in sources)]


S, K, F = SalesStatus, KycStatus, FinanceStatus

PIPELINES: dict[str, Pipeline] = {
    "sales": Pipeline(
        name="sales",
        field="sales_status",
        statuses=SalesStatus,
        permission="pipelines.change_sales_status",
        needs_edit_scope=True,
        moves={
            S.CONTACTED: (S.NEW, S.NO_ANSWER, S.CALLBACK),
            S.NO_ANSWER: (S.NEW, S.CONTACTED, S.CALLBACK),
            S.CALLBACK: (S.NEW, S.CONTACTED, S.NO_ANSWER, S.INTERESTED),
            S.INTERESTED: (S.CONTACTED, S.CALLBACK, S.NOT_INTERESTED),
            S.NOT_INTERESTED: (S.CONTACTED, S.CALLBACK, S.INTERESTED, S.NO_ANSWER),
            S.CONVERTED: (S.INTERESTED, S.CALLBACK, S.CONTACTED),
            S.LOST: (S.NEW, S.CONTACTED, S.NO_ANSWER, S.CALLBACK, S.INTERESTED, S.NOT_INTERESTED),
            S.NEW: (S.LOST,),
        },
    ),
    "kyc": Pipeline(
        name="kyc",
        field="kyc_status",
        statuses=KycStatus,
        permission="pipelines.change_kyc_status",
        moves={
            # approved → pending: documents about to expire (customers.kyc.services.kyc_expiry_scan).
            K.PENDING: (K.NOT_SUBMITTED, K.REJECTED, K.APPROVED),
            K.APPROVED: (K.PENDING,),
            K.REJECTED: (K.PENDING, K.APPROVED),
        },
    ),
    "finance": Pipeline(
        name="finance",
        field="finance_status",
        statuses=FinanceStatus,
        permission="pipelines.change_finance_status",
        moves={
            F.DEPOSITOR: (F.NO_DEPOSIT, F.VIP, F.FROZEN),
            F.VIP: (F.DEPOSITOR,),
            F.FROZEN: ("*",),
            F.NO_DEPOSIT: (F.FROZEN,),
        },
    ),
}
