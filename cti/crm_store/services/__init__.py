"""Services: what the API, the CLI and the daemon call. Each reads through a repository
(:mod:`cti.crm_store.repos`), decides through the rules (:mod:`cti.crm_store.rules`) and
writes through the repository again; none holds SQL or SQLAlchemy objects."""
