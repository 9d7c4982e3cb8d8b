"""cti.pbxsim: a simulated Asterisk 22 (AMI server + realistic call traffic).

Public API: :class:`PbxSimulator` (``cti.pbxsim.server``), the call specs and
:class:`AgentProfile` (``cti.pbxsim.calls``), :class:`TrafficProfile` and ``plan_calls``
(``cti.pbxsim.traffic``), a campaign's :class:`Campaign` (``cti.pbxsim.campaign``) and its
called :class:`Population` (``cti.pbxsim.population``). See ``cti/pbxsim/server.py`` for a
usage example.
"""

from cti.pbxsim.calls import (
    AgentProfile,
    CallHandle,
    ClickToDialCall,
    InboundCall,
    IvrCall,
    MessageCall,
    OutboundCall,
    QueueCall,
    QueueState,
    Races,
    TransferCall,
)
from cti.pbxsim.campaign import Campaign
from cti.pbxsim.population import Callee, Dialled, Population
from cti.pbxsim.server import PbxSimulator
from cti.pbxsim.traffic import TrafficProfile, plan_calls

__all__ = [
    "AgentProfile",
    "CallHandle",
    "Callee",
    "Campaign",
    "ClickToDialCall",
    "Dialled",
    "InboundCall",
    "IvrCall",
    "MessageCall",
    "OutboundCall",
    "PbxSimulator",
    "Population",
    "QueueCall",
    "QueueState",
    "Races",
    "TrafficProfile",
    "TransferCall",
    "plan_calls",
]
