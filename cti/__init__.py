"""cti: telephony and contact-center integration engine."""

__version__ = "0.1.0"
