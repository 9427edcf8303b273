"""Who may read which SSE channel: `account-<login>` only for staff who may view that account's customer."""

from __future__ import annotations

from django_eventstream.channelmanager import DefaultChannelManager


class AccountChannelManager(DefaultChannelManager):
    def can_read_channel(self, user, channel: str) -> bool:
        from customers.models import Customer
        from ledger.models import TradingAccount

        if user is None or not getattr(user, "is_authenticated", False) or not hasattr(user, "holds"):
            return False
        if not channel.startswith("account-") or not channel[8:].isdigit():
            return False
        if not user.holds("customers.view"):
            return False
        return TradingAccount.objects.filter(login=int(channel[8:]),
                                             customer__in=Customer.objects.visible_to(user)).exists()

    def is_channel_reliable(self, channel: str) -> bool:
        return False  # a throttled live feed: the next state supersedes a missed one, nothing to replay
