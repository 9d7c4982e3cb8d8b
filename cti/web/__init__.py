"""cti.web."""
