"""django-axes wiring: failures count per account from any address, and per address over all accounts.

Axes compares one failure count with one limit. With `AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]`
it counts failures per username (whatever the address) and per address (whatever the username) and takes the
larger; this handler scales the per-address count so that an address is locked after `AXES_IP_FAILURE_LIMIT`
failures while an account is locked after `AXES_FAILURE_LIMIT`.
"""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum


def _failures(queryset) -> int:
    return queryset.aggregate(total=Sum("failures_since_start"))["total"] or 0


class LockoutHandler(AxesDatabaseHandler):
    """Per-account lockout at AXES_FAILURE_LIMIT, per-address lockout at AXES_IP_FAILURE_LIMIT."""

    def get_failures(self, request, credentials=None) -> int:
        per_username, per_address = (_failures(qs) for qs in self.get_user_attempts(request, credentials))
        account_limit = settings.AXES_FAILURE_LIMIT
        address_limit = max(settings.AXES_IP_FAILURE_LIMIT, 1)
        # Express the address's failures in units of the account limit: locked when either reaches its limit.
        return max(per_username, per_address * account_limit // address_limit)

    def reset_user_attempts(self, request, credentials=None) -> int:
        """A successful login clears the account's failures, not the address's (an attacker's own valid
        account must not wipe the failures their address piled up against other accounts)."""
        per_username = self.get_user_attempts(request, credentials)[0]
        count, _ = per_username.delete()
        return count


def user_unlock(*, by, user) -> int:
    """Lift a lockout of `user`'s account (failures from every address). Audited; returns the rows cleared."""
    from axes.handlers.proxy import AxesProxyHandler
    from django.db import transaction

    from .services import audit_record

    with transaction.atomic():
        cleared = AxesProxyHandler.reset_attempts(username=user.email.lower())
        audit_record(by=by, action="user.unlocked", obj=user, before=None, after={"cleared_failures": cleared})
    return cleared
