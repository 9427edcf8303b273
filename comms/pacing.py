"""One global pace per send channel, shared by every worker process (Celery's `rate_limit` is per worker).

A slot reservation in the manner of GCRA: the channel keeps the time its next send may start. Taking a slot moves
that time on by 1 / rate and tells the caller how long to wait for its slot; when the next slot is further than the
caller is willing to wait, nothing is reserved and the caller re-queues itself. A provider's `Retry-After` pushes
the channel's next slot out (`pace_block`), so every worker backs off, not only the one that was told.

With Redis (REDIS_URL) the state is one key per channel, changed by a Lua script on Redis's own clock; on the
embedded default (one machine) it is a small file under an exclusive lock.
"""

from __future__ import annotations

import fcntl
import os
import time

from django.conf import settings

from . import conf

KEY = "brokercrm:pace:{channel}"
BLOCK_KEY = "brokercrm:pace-block:{channel}"

# KEYS[1] = the channel's next-slot time; ARGV = interval, max wait, block-until (0: take a slot). Times in seconds.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if nxt < now then nxt = now end
local interval, max_wait, block = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if block > 0 then
  if now + block > nxt then nxt = now + block end
  redis.call('SET', KEYS[1], string.format('%.6f', nxt), 'EX', math.ceil(nxt - now) + 60)
  return 'B' .. string.format('%.6f', nxt - now)
end
local wait = nxt - now
if wait > max_wait then return 'D' .. string.format('%.6f', wait) end
redis.call('SET', KEYS[1], string.format('%.6f', nxt + interval), 'EX', math.ceil(wait + interval) + 60)
return 'G' .. string.format('%.6f', wait)
"""

_client = None


def _redis():
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(settings.REDIS_URL)  # its pool reconnects after a fork
    return _client


def _file_run(channel: str, interval: float, max_wait: float, block: float) -> tuple[str, float]:
    """The same algorithm for the embedded default: every worker on this machine shares the file."""
    path = os.path.join(settings.VAR_DIR, f"pace-{channel}")
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        try:
            nxt = float(handle.read().strip() or 0)
        except ValueError:
            nxt = 0.0
        now = time.time()
        nxt = max(nxt, now)
        if block > 0:
            result = max(nxt, now + block)
            stored, answer = result, ("B", result - now)
        else:
            wait = nxt - now
            if wait > max_wait:
                return "D", wait
            stored, answer = nxt + interval, ("G", wait)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{stored:.6f}")
        return answer


def _run(channel: str, interval: float, max_wait: float, block: float = 0.0) -> tuple[str, float]:
    """('G', wait) a slot granted, ('D', wait) denied, ('B', wait) blocked."""
    if settings.REDIS_URL:
        answer = _redis().eval(_SCRIPT, 1, KEY.format(channel=channel), interval, max_wait, block).decode()
        return answer[0], float(answer[1:])
    return _file_run(channel, interval, max_wait, block)


def rate_for(channel: str) -> float:
    return conf.COMMS_EMAIL_RATE if channel == "email" else conf.COMMS_SMS_RATE


def pace_take(channel: str, *, max_wait: float | None = None) -> tuple[bool, float]:
    """Reserve the channel's next send slot. Returns (True, seconds to wait for it) — the slot is the caller's —
    or (False, seconds until the next free slot) when that is more than `max_wait` (nothing reserved)."""
    rate = rate_for(channel)
    if rate <= 0:
        return True, 0.0
    max_wait = conf.COMMS_PACE_MAX_WAIT if max_wait is None else max_wait
    # One interval is always acceptable: at 6/m the next slot of an idle channel is 10 s off, never "too far".
    kind, wait = _run(channel, 1.0 / rate, max(max_wait, 1.0 / rate))
    return kind == "G", wait


def pace_block(channel: str, seconds: float) -> None:
    """No send on `channel` before `seconds` from now (a provider asked us to wait): later reservations start after
    it, and sends already holding an earlier slot see it through `pace_blocked_for`."""
    if seconds <= 0:
        return
    _run(channel, 0.0, 0.0, block=seconds)
    if settings.REDIS_URL:
        _redis().set(BLOCK_KEY.format(channel=channel), "1", px=max(1, int(seconds * 1000)))
    else:
        with open(os.path.join(settings.VAR_DIR, f"pace-block-{channel}"), "w") as handle:
            handle.write(f"{time.time() + seconds:.6f}")


def pace_blocked_for(channel: str) -> float:
    """Seconds left of a provider's block on `channel` (0 when none)."""
    if settings.REDIS_URL:
        left = _redis().pttl(BLOCK_KEY.format(channel=channel))
        return max(0, left) / 1000
    try:
        with open(os.path.join(settings.VAR_DIR, f"pace-block-{channel}")) as handle:
            return max(0.0, float(handle.read().strip() or 0) - time.time())
    except (OSError, ValueError):
        return 0.0
