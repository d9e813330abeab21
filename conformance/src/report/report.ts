import type { RunOptions, RunSummary } from "../run/runner.js";

/** The run as JSON: options, capabilities, every case with its verdict and reason. */
export function jsonReport(summary: RunSummary, options: Pick<RunOptions, "target" | "url" | "protocol">): string {
  return `${JSON.stringify({
    target: options.target,
    url: options.url,
    protocol: options.protocol,
    capabilities: summary.capabilities,
    passed: summary.passed,
    failed: summary.failed,
    skipped: summary.skipped,
    cases: summary.results.map((r) => ({ name: r.name, verdict: r.verdict, ms: r.ms, reason: r.reason || undefined })),
  }, null, 2)}\n`;
}

function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** The run as JUnit XML, one testsuite per conformance suite, for CI dashboards. */
export function junitReport(summary: RunSummary, options: Pick<RunOptions, "target" | "protocol">): string {
  const bySuite = new Map<string, RunSummary["results"]>();
  for (const r of summary.results) {
    const suite = r.name.split("/")[0]!;
    bySuite.set(suite, [...(bySuite.get(suite) ?? []), r]);
  }
  const suites = [...bySuite.entries()].map(([suite, results]) => {
    const failures = results.filter((r) => r.verdict === "failed" || r.verdict === "stale").length;
    const skipped = results.filter((r) => r.verdict === "skipped").length;
    const time = results.reduce((t, r) => t + r.ms, 0) / 1000;
    const cases = results.map((r) => {
      const name = xml(r.name.slice(suite.length + 1));
      const inner = r.verdict === "failed" || r.verdict === "stale"
        ? `<failure message="${xml(r.reason ?? "")}"/>`
        : r.verdict === "skipped" ? `<skipped message="${xml(r.reason ?? "")}"/>` : "";
      return `    <testcase classname="${xml(`${options.target}.${options.protocol}.${suite}`)}" name="${name}" time="${r.ms / 1000}">${inner}</testcase>`;
    });
    return `  <testsuite name="${xml(suite)}" tests="${results.length}" failures="${failures}" skipped="${skipped}" time="${time}">\n${cases.join("\n")}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="pyfleet-conformance">\n${suites.join("\n")}\n</testsuites>\n`;
}
