"""The console's 事件投递 page: the events sent to the lender, how each delivery stands, in staff's words.

Supervisors only (the page and 重新投递, which Casework.replay_event audits). Times are Beijing times; no
code of the outbox or the network reaches staff untranslated.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kuanxin.console.casework import EVENT_KINDS
from kuanxin.core import clock
from kuanxin.core.vocab import DeliveryStatus
from kuanxin.outbound.target import endpoint_label
from kuanxin.store import outbox
from kuanxin.store.db import Database
from kuanxin.store.models import OutboxDelivery

# the failure kinds the deliverer records (kuanxin/outbound/deliverer.py), as staff read them
FAILURES = {"timeout": "接收方超时未应答", "unreachable": "无法连接接收方", "server_error": "接收方系统出错",
            "throttled": "接收方要求稍后再试", "refused": "接收方拒收(请接收方核查)",
            "redirected": "接收地址发生跳转(请核对配置的地址)"}
SHOWN = 100
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def beijing(naive_utc: dt.datetime | None) -> str:
    return clock.beijing_time(naive_utc).strftime(TIME_FORMAT) if naive_utc else ""


def failure_label(delivery: OutboxDelivery) -> str:
    kind = (delivery.last_error or "").split(":", 1)[0]
    label = FAILURES.get(kind, "投递失败")
    return f"{label}(HTTP {delivery.last_status})" if delivery.last_status else label


@dataclass(frozen=True)
class DeliveryLine:
    endpoint: str
    state: str  # 已送达 / 投递中 / 重试中 / 待投递
    delivered: bool
    failing: bool
    detail: str  # when delivered, or the last failure and the next try


def delivery_line(delivery: OutboxDelivery, now: dt.datetime) -> DeliveryLine:
    endpoint = endpoint_label(delivery.endpoint)
    if delivery.status == DeliveryStatus.DELIVERED:
        return DeliveryLine(endpoint, "已送达", True, False, f"送达于 {beijing(delivery.delivered_at)}")
    if delivery.lease_until and delivery.lease_until > now:
        return DeliveryLine(endpoint, "投递中", False, False, f"第{delivery.attempts}次尝试")
    if delivery.last_error:
        return DeliveryLine(endpoint, "重试中", False, True,
                            f"已尝试{delivery.attempts}次,最近一次:{failure_label(delivery)};"
                            f"下次重试 {beijing(delivery.next_attempt_at)}")
    return DeliveryLine(endpoint, "待投递", False, False, "")


@dataclass(frozen=True)
class EventLine:
    event_id: str
    at: str
    kind: str
    borrower_id: str
    reference: str
    deliveries: list[DeliveryLine]
    waiting_for_deliverer: bool  # queued, not yet turned into deliveries

    @property
    def failing(self) -> bool:
        return any(line.failing for line in self.deliveries)


def event_lines(db: Database, failing_only: bool = False, limit: int = SHOWN) -> list[EventLine]:
    now = clock.real_utc()
    return [EventLine(item.event.id, beijing(item.event.created_at), EVENT_KINDS.of(item.event.kind),
                      item.event.borrower_id or "未核实身份", str(item.data.get("reference") or ""),
                      [delivery_line(delivery, now) for delivery in item.deliveries],
                      item.queued and not item.deliveries)
            for item in outbox.recent_events(db, limit, failing_only)]


def counts(db: Database) -> dict[str, int]:
    return outbox.delivery_counts(db)
