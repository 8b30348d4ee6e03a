"""Demo content for a new installation (`manage.py seed_demo`, `make run`): the content in content.py, loaded
through the same services users' actions go through by load.py."""

from kmeme.demo.load import SeedReport, demo_load

__all__ = ["SeedReport", "demo_load"]
