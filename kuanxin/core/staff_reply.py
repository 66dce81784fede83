"""The contract between the staff console and the channels for a reply written by a person.

The console appends a bot event whose data carries `custom.kuanxin_staff.name`; every channel's
output shows such a message as coming from that person and never sends the custom JSON itself.
"""
from __future__ import annotations

from typing import Any

KEY = "kuanxin_staff"
UNNAMED = "工作人员"


def staff_reply_data(name: str) -> dict[str, Any]:
    """The `data` of the bot event that carries a staff member's reply."""
    return {"custom": {KEY: {"name": name}}}


def staff_name(message: dict[str, Any]) -> str | None:
    """The staff member's name when a message (bot event data or a channel's message) is a staff reply."""
    custom = message.get("custom")
    staff = custom.get(KEY) if isinstance(custom, dict) else None
    return str(staff.get("name") or UNNAMED) if isinstance(staff, dict) else None
