"""Where conversation locks live in Redis, shared by the lock store (runtime/locks.py) and the supervisor.

Each waiting or working message holds a ticket kept alive by a heartbeat key; the heartbeat keys an
instance holds are listed under its name, so that when the supervisor sees an instance die it frees
that instance's conversations at once instead of waiting for the heartbeats to expire.
"""
from __future__ import annotations

import redis


def queue_key(prefix: str, conversation_id: str) -> str:
    return f"{prefix}:conversation-lock:{conversation_id}"


def heartbeat_key(queue: str, ticket: int) -> str:
    return f"{queue}:t:{ticket}"


def holder_key(prefix: str, instance: str) -> str:
    return f"{prefix}:conversation-lock-holders:{instance}"


def release_instance(client: redis.Redis, prefix: str, instance: str) -> int:
    """Frees every conversation the (dead) instance held or waited for; returns how many tickets."""
    holders = holder_key(prefix, instance)
    keys = list(client.smembers(holders))
    if keys:
        client.delete(*keys)
    client.delete(holders)
    return len(keys)
