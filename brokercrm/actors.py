"""Who acts: a staff user, or the system itself (`SYSTEM`). Never `None`.

Services that scope or check permissions take `by=`: the acting staff user, or `SYSTEM` for workflows, webhooks,
beat jobs and the demo seed. `SYSTEM` sees every customer and holds every permission; it is recorded as no user
(`actor_user`). `by=None` raises (`actor_check`): a caller that forgets the actor must not get everything."""

from __future__ import annotations

from typing import Any


class SystemActor:
    """The system acting on its own behalf: unscoped, every permission, recorded as no user."""

    pk = None
    id = None
    is_authenticated = True
    is_active = True
    is_superuser = False
    is_staff = False
    role = None
    role_id = None
    team = None
    team_id = None
    email = ""

    def holds(self, code: str) -> bool:
        return True

    def __str__(self) -> str:
        return "system"

    def __repr__(self) -> str:
        return "SYSTEM"

    def __copy__(self) -> SystemActor:
        return self

    def __deepcopy__(self, memo: dict) -> SystemActor:
        return self


SYSTEM = SystemActor()


def actor_check(by: Any) -> None:
    """Refuse a missing actor: `by=None` used to mean "the system, unscoped"; now it is an error."""
    if by is None:
        raise TypeError("No actor: pass the acting user as by=, or brokercrm.actors.SYSTEM for the system itself.")


def is_system(by: Any) -> bool:
    return by is SYSTEM


def actor_user(by: Any) -> Any:
    """The user to record in an actor/created_by column: `SYSTEM` (and no actor) record as NULL."""
    return None if by is None or by is SYSTEM else by
