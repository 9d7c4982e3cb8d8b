"""The demo: ``cti demo`` (:mod:`.run`: the whole system on one machine) and its data
(:mod:`.seed`: realistic, deterministic CRM contents, written through the store's importer
and repositories). Nothing outside the demo and the benchmarks depends on it."""
