"""All models, imported here so ``Base.metadata`` is complete (Alembic, tests)."""

from cti.crm_store.models.calls import Call, CallAgent, CallRing, CallTalk
from cti.crm_store.models.campaigns import (
    AgentStateLog,
    Campaign,
    CampaignAgent,
    CampaignList,
    CampaignVersion,
    DialAttempt,
    DncNumber,
    Lead,
)
from cti.crm_store.models.contacts import Company, Contact, ContactEmail, Phone
from cti.crm_store.models.exports import DownloadLink
from cti.crm_store.models.rollups import (
    AgentDay,
    AgentHour,
    AgentQuarter,
    CallDay,
    CallHour,
    InboundQuarter,
    QueueWaitDay,
)
from cti.crm_store.models.sales import Deal
from cti.crm_store.models.sessions import AgentSession
from cti.crm_store.models.surveys import SurveyAnswer, SurveyResponse, SurveyScript
from cti.crm_store.models.tasks import Note, Task
from cti.crm_store.models.tickets import Ticket, TicketComment
from cti.crm_store.models.users import ApiToken, LoginDevice, User, UserExtension

__all__ = [
    "AgentDay",
    "AgentHour",
    "AgentQuarter",
    "AgentSession",
    "AgentStateLog",
    "ApiToken",
    "Call",
    "CallAgent",
    "CallDay",
    "CallHour",
    "CallRing",
    "CallTalk",
    "Campaign",
    "CampaignAgent",
    "CampaignList",
    "CampaignVersion",
    "Company",
    "Contact",
    "ContactEmail",
    "Deal",
    "DialAttempt",
    "DncNumber",
    "DownloadLink",
    "InboundQuarter",
    "Lead",
    "LoginDevice",
    "Note",
    "Phone",
    "QueueWaitDay",
    "SurveyAnswer",
    "SurveyResponse",
    "SurveyScript",
    "Task",
    "Ticket",
    "TicketComment",
    "User",
    "UserExtension",
]
