"""Conformance scenarios: the wire contract as data, run against any DDP server.

Scenarios live in ``protocol/scenarios/*.json`` (format: README.md, "Conformance"); :mod:`scenario`
loads and checks them, :mod:`matchers` is the pattern language, :mod:`runner` drives real
sockets (and REST for Rocket.Chat routes), :mod:`report` prints the table and writes JUnit XML.
"""

from pathlib import Path

from .matchers import PatternError, match, substitute
from .report import format_table, write_junit
from .runner import RunConfig, ScenarioResult, UserSpec, run_scenario, run_scenarios
from .scenario import Scenario, ScenarioError, load_scenarios, select

#: The scenarios shipped with a source checkout.
DEFAULT_SCENARIOS = Path(__file__).resolve().parents[2] / "protocol" / "scenarios"

__all__ = [
    "DEFAULT_SCENARIOS",
    "PatternError",
    "RunConfig",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "UserSpec",
    "format_table",
    "load_scenarios",
    "match",
    "run_scenario",
    "run_scenarios",
    "select",
    "substitute",
    "write_junit",
]
