"""Which request a borrower's document is attached to: a verified borrower may attach documents only to something
open (or being filed) in the conversation's account: a pending deferral or installment request (hardship), a pending
waiver request, an open dispute, or a case open with staff about a payment (payment query). The newest one wins;
a deferral or installment form being filled in right now counts as a hardship request being filed, and the penalty
waiver's confirmation as a waiver request being filed."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select

from kuanxin.core.vocab import DocumentPurpose, EscalationReason, EscalationStatus, RequestStatus, RequestType
from kuanxin.store.db import Database
from kuanxin.store.models import Escalation, ServiceRequest

REQUEST_PURPOSES = {RequestType.DEFERRAL: DocumentPurpose.HARDSHIP, RequestType.INSTALLMENT: DocumentPurpose.HARDSHIP,
                    RequestType.WAIVER: DocumentPurpose.WAIVER}
ESCALATION_PURPOSES = {EscalationReason.DISPUTE: DocumentPurpose.DISPUTE,
                       EscalationReason.HUMAN: DocumentPurpose.PAYMENT_QUERY}
FILING_FORMS = {"deferral_form": DocumentPurpose.HARDSHIP, "installment_form": DocumentPurpose.HARDSHIP,
                "waiver_form": DocumentPurpose.WAIVER}


@dataclass(frozen=True)
class Target:
    purpose: DocumentPurpose
    reference: str | None  # None: the request is being filed in this conversation


def target_for(db: Database, borrower_id: str, conversation_id: str, active_form: str | None) -> Target | None:
    if active_form in FILING_FORMS:
        return Target(FILING_FORMS[active_form], None)
    found: list[tuple[dt.datetime, Target]] = []
    with db.session() as session:
        requests = session.execute(select(ServiceRequest).where(
            ServiceRequest.borrower_id == borrower_id, ServiceRequest.status == RequestStatus.PENDING)).scalars()
        found += [(row.created_at, Target(REQUEST_PURPOSES[RequestType(row.type)], row.reference))
                  for row in requests if row.reference]
        escalations = session.execute(select(Escalation).where(
            or_(Escalation.borrower_id == borrower_id, Escalation.conversation_id == conversation_id),
            Escalation.status != EscalationStatus.RESOLVED,
            Escalation.reason.in_([reason.value for reason in ESCALATION_PURPOSES]))).scalars()
        found += [(row.created_at, Target(ESCALATION_PURPOSES[EscalationReason(row.reason)], row.reference))
                  for row in escalations if row.reference]
    return max(found, key=lambda item: item[0])[1] if found else None
