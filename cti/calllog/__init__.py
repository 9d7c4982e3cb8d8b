"""cti.calllog."""
