"""The risk core: plain Python over observations and session state, no Kafka."""

from streams.risk.engine import LateObservation, RiskEngine
from streams.risk.policy import PolicyBook, RiskPolicy
from streams.risk.report import final_report
from streams.risk.state import SessionState, ended_session, is_ended

__all__ = [
    "LateObservation",
    "PolicyBook",
    "RiskEngine",
    "RiskPolicy",
    "SessionState",
    "ended_session",
    "final_report",
    "is_ended",
]
