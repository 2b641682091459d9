"""`lineage diff` inside Dagster: the lineage Marquez holds is an external asset, `marquez_lineage`,
and its check `no_drift` runs the diff, so drift shows in the Dagster UI (asset `marquez_lineage`,
Checks tab) with the drift table as metadata. The check runs in the `lineage_diff` job, hourly by
`lineage_diff_hourly` or on demand from the UI; never inside the pipeline's own runs (an
external asset is not selected by `*`), where the run's events are not delivered yet."""

import dagster as dg

MARQUEZ_LINEAGE = dg.AssetKey("marquez_lineage")
LOCATION = "orchestration.definitions"

marquez_lineage = dg.AssetSpec(
    MARQUEZ_LINEAGE,
    group_name="lineage",
    description="The lineage Marquez holds for this code location (namespace `lakehouse` and the dataset "
    "namespaces our assets write). Not materialized by Dagster: OpenLineage events write it.",
    kinds={"marquez"},
)


def _drift_table(drifts: list) -> str:
    if not drifts:
        return "No drift."
    lines = ["| severity | kind | asset | subject | message | fix |", "| --- | --- | --- | --- | --- | --- |"]
    for d in drifts:
        cells = [d.severity, d.kind, d.asset or "", d.node.name, d.message, d.suggested_fix]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


@dg.asset_check(
    asset="marquez_lineage",
    name="no_drift",
    description="`lineage diff`: every asset and edge of this code location is in Marquez as expected "
    "(no missing, orphan, stale or failed lineage, no schema or namespace drift).",
)
def no_drift(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    from lineage.diff import ConfigurationError, MarquezFailed, MarquezUnreachable
    from lineage.diff.run import run_diff

    try:
        run = run_diff(LOCATION, instance=context.instance)
    except (ConfigurationError, MarquezUnreachable, MarquezFailed) as exc:
        raise dg.Failure(description=f"lineage diff could not run: {exc}") from exc
    report = run.report
    summary = report.summary()
    errors, warnings = summary["by_severity"]["error"], summary["by_severity"]["warning"]
    for note in report.notes:
        context.log.info(f"lineage diff: {note}")
    return dg.AssetCheckResult(
        passed=not (errors or warnings),
        severity=dg.AssetCheckSeverity.ERROR if errors else dg.AssetCheckSeverity.WARN,
        description=f"{errors} errors, {warnings} warnings against Marquez {report.marquez}",
        metadata={
            "marquez": dg.MetadataValue.url(report.marquez),
            "drifts": summary["drifts"],
            "by_kind": dg.MetadataValue.json(summary["by_kind"]),
            "assets": summary["assets"],
            "http_calls": summary["http_calls"],
            "report": dg.MetadataValue.path(str(run.saved_to)) if run.saved_to else "not saved",
            "drift": dg.MetadataValue.md(_drift_table(report.drifts)),
        },
    )


lineage_diff_job = dg.define_asset_job(
    "lineage_diff",
    selection=dg.AssetSelection.checks_for_assets(MARQUEZ_LINEAGE),
    description="Reconcile the asset graph with Marquez (`lineage diff`) and record the result as the check "
    "marquez_lineage/no_drift.",
)

lineage_diff_hourly = dg.ScheduleDefinition(
    name="lineage_diff_hourly",
    job=lineage_diff_job,
    cron_schedule="30 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour at :30, `lineage diff` against Marquez; drift shows on marquez_lineage's check.",
)
