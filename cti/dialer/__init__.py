"""cti.dialer."""
