"""The pure call tracker (AMI events → domain call events); see :mod:`cti.ami.tracker.core`."""

from cti.ami.tracker.core import CallTracker

__all__ = ["CallTracker"]
