"""Conformance output: the pass/fail table for a terminal and JUnit XML for CI systems."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from .runner import ScenarioResult

__all__ = ["format_line", "format_table", "write_junit"]

_MARK = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}


def format_line(result: ScenarioResult) -> str:
    """One row: status, scenario id, seconds, and for a failure the reason on the next line."""
    row = f"{_MARK[result.status]:<5} {result.scenario.id:<58} {result.seconds:6.2f}s"
    if result.message:
        row += f"\n      {result.message}"
    return row


def format_table(results: Sequence[ScenarioResult]) -> str:
    """The whole table and a summary line."""
    lines = [format_line(r) for r in results]
    passed = sum(1 for r in results if r.status == "pass")
    lines.append(f"{passed}/{len(results)} scenarios passed" + ("" if passed == len(results) else
                 f", {len(results) - passed} failed"))
    return "\n".join(lines) + "\n"


def write_junit(path: str | os.PathLike[str], results: Sequence[ScenarioResult], *, name: str = "ddp-e2e conformance") -> Path:
    """JUnit XML: one testsuite per scenario suite, one testcase per scenario."""
    suites: dict[str, list[ScenarioResult]] = defaultdict(list)
    for result in results:
        suites[result.scenario.suite].append(result)
    root = ET.Element("testsuites", name=name, tests=str(len(results)),
                      failures=str(sum(r.status == "fail" for r in results)),
                      errors=str(sum(r.status == "error" for r in results)),
                      time=f"{sum(r.seconds for r in results):.3f}")
    for suite, members in suites.items():
        node = ET.SubElement(root, "testsuite", name=suite, tests=str(len(members)),
                             failures=str(sum(r.status == "fail" for r in members)),
                             errors=str(sum(r.status == "error" for r in members)),
                             time=f"{sum(r.seconds for r in members):.3f}")
        for result in members:
            case = ET.SubElement(node, "testcase", classname=f"conformance.{suite}", name=result.scenario.name,
                                 time=f"{result.seconds:.3f}", file=result.scenario.source)
            if result.status != "pass":
                tag = "failure" if result.status == "fail" else "error"
                first = result.message.split("\n", 1)[0]
                problem = ET.SubElement(case, tag, message=first[:500], type=tag)
                problem.text = f"{result.scenario.title}\nspec: {result.scenario.spec_ref}\n{result.message}"
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)
    return target
