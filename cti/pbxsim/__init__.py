"""cti.pbxsim: a simulated Asterisk 22 (AMI server + realistic call traffic).

Public API: :class:`PbxSimulator` (``cti.pbxsim.server``), the call specs and
:class:`AgentProfile` (``cti.pbxsim.calls``), :class:`TrafficProfile` and ``plan_calls``
(``cti.pbxsim.traffic``). See ``cti/pbxsim/server.py`` for a usage example.
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
from cti.pbxsim.server import PbxSimulator
from cti.pbxsim.traffic import TrafficProfile, plan_calls

__all__ = [
    "AgentProfile",
    "CallHandle",
    "ClickToDialCall",
    "InboundCall",
    "IvrCall",
    "MessageCall",
    "OutboundCall",
    "PbxSimulator",
    "QueueCall",
    "QueueState",
    "Races",
    "TrafficProfile",
    "TransferCall",
    "plan_calls",
]
