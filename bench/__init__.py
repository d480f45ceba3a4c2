"""crmhub's performance benchmarks: ``python bench/run.py`` (see docs/benchmarks.md)."""
