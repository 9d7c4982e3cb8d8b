"""deploy/: the sample config, the systemd unit, the nginx site, the PostgreSQL setup."""
