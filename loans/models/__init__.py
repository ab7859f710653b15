from .applications import Application, ApplicationEvent, EligibilityCheck, Opinion
from .idempotency import IdempotencyRecord
from .imports import ImportJob
from .loans import FollowUp, Loan, Repayment
from .parties import Applicant, Bank, Enterprise, Unit
from .privacy import PersonalDataAccess
from .program import Program
from .webhooks import ApiAuditEntry, WebhookAttempt, WebhookDelivery

__all__ = [
    "ApiAuditEntry",
    "Applicant",
    "Application",
    "ApplicationEvent",
    "Bank",
    "EligibilityCheck",
    "Enterprise",
    "FollowUp",
    "IdempotencyRecord",
    "ImportJob",
    "Loan",
    "Opinion",
    "PersonalDataAccess",
    "Program",
    "Repayment",
    "Unit",
    "WebhookAttempt",
    "WebhookDelivery",
]
