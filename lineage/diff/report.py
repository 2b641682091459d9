"""Rendering a `DiffReport`: a rich table, JSON, Markdown.

JSON schema (version 1; fields are only ever added, never renamed or removed, within a version):

    {
      "version": 1,
      "kinds": [  (every drift kind this version knows, in order: lineage/diff/kinds.py; the UI draws from it)
        {"name": "<kind>", "severity": "info | warning | error", "label": "<short, for people>",
         "color": "<CSS colour>", "when": "<one line: when it fires>"}, ...
      ],
      "generated_at": "<ISO 8601 UTC time of the diff>",
      "marquez": "<base URL of the Marquez read>",
      "summary": {
        "location": "<code location module>",
        "job_namespace": "lakehouse",
        "dataset_namespaces": ["<namespace>", ...],
        "assets": <int>, "datasets_observed": <int>, "jobs_observed": <int>,
        "drifts": <int>,
        "by_severity": {"info": <int>, "warning": <int>, "error": <int>},
        "by_kind": {"<kind>": <int>, ...},
        "http_calls": <int>,
        "stale_lineage_checked": <bool: the Dagster instance was read>,
        "tables_checked": <int: real tables whose columns were compared>,
        "notes": ["<what was not checked, and why>", ...],
        "timings_s": {"location": <s>, "dagster_instance": <s>, "tables": <s>, "marquez_and_compare": <s>, "save": <s>}
      },
      "drifts": [
        {
          "kind": "<one of kinds[].name>",
          "severity": "info | warning | error",
          "subject": "dataset:<namespace>:<name> | job:<namespace>:<name>",  (Marquez's node id)
          "node": {"type": "dataset | job", "namespace": "<namespace>", "name": "<name>"},
          "asset": "<asset key, path joined with />" or null,
          "message": "<one line>",
          "fix": "<one line: the suggested fix>"
        }, ...
      ]
    }

Drifts are ordered errors first, then by kind and subject.
"""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lineage.diff import DiffReport
from lineage.diff.kinds import as_json as kinds_json
from lineage.diff.kinds import kind as kind_of

JSON_VERSION = 1
_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def as_json_dict(report: DiffReport) -> dict:
    return {
        "version": JSON_VERSION,
        "kinds": kinds_json(),
        "generated_at": report.generated_at,
        "marquez": report.marquez,
        "summary": report.summary(),
        "drifts": [
            {
                "kind": d.kind,
                "severity": d.severity,
                "subject": d.node.id,
                "node": {"type": d.node.type, "namespace": d.node.namespace, "name": d.node.name},
                "asset": d.asset,
                "message": d.message,
                "fix": d.suggested_fix,
            }
            for d in report.drifts
        ],
    }


def render_json(report: DiffReport) -> str:
    return json.dumps(as_json_dict(report), indent=2)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: DiffReport) -> str:
    s = report.summary()
    lines = [
        f"# lineage diff: {s['location']} vs {report.marquez}",
        "",
        f"{s['assets']} assets; Marquez holds {s['datasets_observed']} datasets in our namespaces and "
        f"{s['jobs_observed']} jobs in `{s['job_namespace']}`. "
        f"Drift: {s['by_severity']['error']} errors, {s['by_severity']['warning']} warnings, {s['by_severity']['info']} info.",
        "",
    ]
    if not report.drifts:
        lines.append("No drift.")
        return "\n".join(lines) + "\n"
    lines += ["| severity | kind | subject | message | suggested fix |", "| --- | --- | --- | --- | --- |"]
    for d in report.drifts:
        lines.append(
            f"| {d.severity} | {d.kind} | `{_md(d.dataset_or_job)}` | {_md(d.message)} | {_md(d.suggested_fix)} |"
        )
    lines += ["", "Kinds:"]
    for name in dict.fromkeys(d.kind for d in report.drifts):
        lines.append(f"- `{name}` ({kind_of(name).severity}): {_md(kind_of(name).when)}")
    return "\n".join(lines) + "\n"


def _short_subject(subject: str) -> str:
    """`dataset:<ns>:<name>` -> `<name>` over a dim `<ns>` (the namespace is long and shared)."""
    kind, _, rest = subject.partition(":")
    namespace, _, name = rest.rpartition(":")
    if kind not in ("dataset", "job") or not namespace:
        return escape(subject)
    return f"{escape(name)}\n[dim]{kind} in {escape(namespace)}[/]"


def print_table(report: DiffReport, console: Console) -> None:
    s = report.summary()
    console.print(
        f"lineage diff: [bold]{s['location']}[/] ({s['assets']} assets) vs Marquez {report.marquez} "
        f"({s['datasets_observed']} datasets, {s['jobs_observed']} jobs in {s['job_namespace']})"
    )
    if not report.drifts:
        console.print("[green]no drift[/]")
        return
    table = Table(show_lines=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("subject", overflow="fold", ratio=1)
    table.add_column("message / suggested fix", overflow="fold", ratio=2)
    for d in report.drifts:
        table.add_row(
            f"[{_STYLE[d.severity]}]{d.severity}[/]",
            f"[{kind_of(d.kind).color}]{d.kind}[/]",
            _short_subject(d.dataset_or_job),
            f"{escape(d.message)}\n[dim]fix: {escape(d.suggested_fix)}[/]",
        )
    console.print(table)
    by = s["by_severity"]
    console.print(f"{by['error']} errors, {by['warning']} warnings, {by['info']} info")
