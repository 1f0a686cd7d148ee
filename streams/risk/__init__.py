"""The risk core: plain Python over observations and session state, no Kafka."""

from streams.risk.engine import RiskEngine
from streams.risk.policy import RiskPolicy
from streams.risk.state import SessionState

__all__ = ["RiskEngine", "RiskPolicy", "SessionState"]
