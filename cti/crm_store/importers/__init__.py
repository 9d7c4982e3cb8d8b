"""Importers: files into the store, validated row by row, written through the repositories
(:mod:`cti.crm_store.repos.import_writers`). ``contacts_csv``: contacts from CSV."""
