"""cti.screenpop."""
