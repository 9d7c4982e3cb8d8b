"""cti.pbxsim."""
