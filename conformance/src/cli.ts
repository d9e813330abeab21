#!/usr/bin/env node
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { JsonValue } from "@bufbuild/protobuf";
import { Command, Option } from "commander";
import { jsonReport, junitReport } from "./report/report.js";
import { type CaseResult, runSuites, type RunOptions, type Target } from "./run/runner.js";
import { loadSuites } from "./suite/load.js";

const SUITES = fileURLToPath(new URL("../suites", import.meta.url));

interface CliOptions {
  protocol: RunOptions["protocol"];
  apiKey?: string;
  otherApiKey?: string;
  jobEndpoint?: string;
  jobInput?: string;
  image: string;
  run: string[];
  skip: string[];
  knownFailing?: string;
  parallel: string;
  report?: "json" | "junit";
  reportFile?: string;
  verbose?: boolean;
  suites: string;
}

function readKnownFailing(file: string | undefined): string[] {
  if (!file) return [];
  return readFileSync(file, "utf8").split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
}

function parseJson(text: string, flag: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (e) {
    throw new Error(`${flag} must be JSON: ${(e as Error).message}`);
  }
}

function printFailure(r: CaseResult, verbose: boolean) {
  const tag = r.verdict === "stale" ? "STALE" : "FAIL";
  console.log(`${tag} ${r.name}: ${r.reason}`);
  if (verbose) {
    for (const t of r.trace) {
      console.log(`  ${t.step}`);
      console.log(`    request:  ${JSON.stringify(t.request)}`);
      console.log(`    response: ${JSON.stringify(t.outcome)}`);
    }
  }
}

async function main(target: Target, url: string, opts: CliOptions): Promise<number> {
  const suites = loadSuites(opts.suites);
  const options: RunOptions = {
    target,
    url,
    protocol: opts.protocol,
    run: opts.run,
    skip: opts.skip,
    knownFailing: readKnownFailing(opts.knownFailing),
    parallel: Number(opts.parallel),
    // An empty flag (--api-key "") counts as not given, so the runner's defaults apply.
    apiKey: opts.apiKey || undefined,
    otherApiKey: opts.otherApiKey || undefined,
    jobEndpoint: opts.jobEndpoint || undefined,
    image: opts.image,
    jobInput: opts.jobInput ? parseJson(opts.jobInput, "--job-input") : undefined,
    onResult: (r) => {
      if (r.verdict === "failed" || r.verdict === "stale") printFailure(r, opts.verbose ?? false);
    },
  };
  const summary = await runSuites(suites, options);
  if (opts.report) {
    const text = opts.report === "json" ? jsonReport(summary, options) : junitReport(summary, options);
    if (opts.reportFile) writeFileSync(opts.reportFile, text);
    else process.stdout.write(text);
  }
  console.log(`capabilities: ${summary.capabilities.join(", ")}`);
  console.log(`${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
  return summary.failed > 0 ? 1 : 0;
}

const program = new Command("pyfleet-conformance")
  .description("certify a pyfleet server build or a ProviderService endpoint against the shared contract suite")
  .showHelpAfterError();

for (const target of ["server", "provider"] as const) {
  program
    .command(`${target} <url>`)
    .description(target === "server" ? "run the server suites against a pyfleet server" : "run the ProviderService suites against a provider endpoint")
    .addOption(new Option("--protocol <protocol>", "wire protocol").choices(["connect", "grpc", "grpc-web"]).default("connect"))
    .option("--api-key <key>", "API key to send (default: none)")
    .option("--other-api-key <key>", "a second tenant's key, for isolation cases")
    .option("--image <image>", "provider spawn cases: the container image machines run", "python:3.11-slim")
    .option("--job-endpoint <endpoint>", "provider job cases: the endpoint to submit to", "echo")
    .option("--job-input <json>", "provider job cases: the job input as JSON", '{"prompt":"conformance"}')
    .option("--run <pattern...>", "only cases whose suite/name matches a glob", [])
    .option("--skip <pattern...>", "skip cases whose suite/name matches a glob", [])
    .option("--known-failing <file>", "cases (globs, one per line) that must fail; one that passes is stale")
    .option("--parallel <n>", "cases to run at once", "1")
    .addOption(new Option("--report <format>", "write a report").choices(["json", "junit"]))
    .option("--report-file <file>", "where the report goes (default stdout)")
    .option("-v, --verbose", "print the requests and responses of each failure")
    .option("--suites <dir>", "directory of suite YAML files", SUITES)
    .action(async (url: string, opts: CliOptions) => {
      process.exitCode = await main(target, url, opts);
    });
}

program.parseAsync().catch((e: unknown) => {
  console.error(`pyfleet-conformance: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 2;
});
