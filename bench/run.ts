// `npm run bench [-- --quick] [-- --only link,e2e]`: every benchmark beside its
// baseline in the same run; writes bench/results/latest.json and the results
// table of docs/benchmarks.md.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cliBenchmarks } from "./cases/cli.js";
import { e2eBenchmarks } from "./cases/e2e.js";
import { ensureH2load } from "./h2load.js";
import { linkBenchmarks } from "./cases/link.js";
import { sessionBenchmarks } from "./cases/sessions.js";
import { memoryBenchmarks, startupBenchmarks } from "./cases/startup.js";
import { type BenchOptions, type BenchResult, gitCommit, machine, ROOT } from "./lib.js";

const quick = process.argv.includes("--quick");
// `--only e2e,link` or `--only=e2e,link`: the groups to run (results go to partial.json).
const onlyAt = process.argv.findIndex((a) => a === "--only" || a.startsWith("--only="));
const onlyArg = onlyAt < 0 ? undefined : process.argv[onlyAt]!.startsWith("--only=") ? process.argv[onlyAt]!.slice("--only=".length) : process.argv[onlyAt + 1];
const only = onlyArg ? new Set(onlyArg.split(",").map((g) => g.trim())) : undefined;
const options: BenchOptions = {
  quick,
  rounds: quick ? 1 : 3,
  log: (line) => process.stderr.write(`[bench] ${line}\n`),
};

const groups: [string, (o: BenchOptions) => Promise<BenchResult[]>][] = [
  ["link", linkBenchmarks],
  ["e2e", e2eBenchmarks],
  ["startup", startupBenchmarks],
  ["memory", memoryBenchmarks],
  ["sessions", sessionBenchmarks],
  ["cli", cliBenchmarks],
];

if (only) {
  const unknown = [...only].filter((g) => !groups.some(([name]) => name === g));
  if (onlyAt >= 0 && (!onlyArg || unknown.length > 0)) {
    process.stderr.write(`--only takes a comma-separated list of groups: ${groups.map(([name]) => name).join(", ")}${unknown.length ? ` (unknown: ${unknown.join(", ")})` : ""}\n`);
    process.exit(2);
  }
}

// The e2e group's load generator is h2load: say how to get it before anything starts.
if (!only || only.has("e2e")) {
  try {
    ensureH2load();
  } catch (e) {
    process.stderr.write(`[bench] ${(e as Error).message}\n`);
    process.exit(2);
  }
}

const commit = gitCommit();
const started = performance.now();
const results: BenchResult[] = [];
for (const [name, run] of groups) {
  if (only && !only.has(name)) continue;
  options.log(`${name}...`);
  results.push(...(await run(options)).map((r) => ({ ...r, commit })));
}
const report = {
  machine: machine(),
  command: `npm run bench${quick || only ? ` --${quick ? " --quick" : ""}${only ? ` --only ${[...only].join(",")}` : ""}` : ""}`,
  commit,
  date: new Date().toISOString(),
  seconds: Math.round((performance.now() - started) / 1000),
  results,
};

mkdirSync(`${ROOT}bench/results`, { recursive: true });
const file = `${ROOT}bench/results/${only ? "partial" : "latest"}.json`;
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

const cell = (v: unknown) => (v === undefined ? "" : String(v));
const table = [
  `Measured ${report.date.slice(0, 10)} at commit \`${commit}\` with \`${report.command}\` in ${report.seconds} s on ${report.machine.cores} cores (${report.machine.cpu}), ${report.machine.memory_gib} GiB, Node ${report.machine.node}, Python ${report.machine.python}.`,
  "",
  "| id | what | value | baseline | ratio | goal | met | p50 ms | p99 ms | errors |",
  "|---|---|---|---|---|---|---|---|---|---|",
  ...results.map((r) => `| \`${r.id}\` | ${r.what} | ${r.value} ${r.unit} | ${cell(r.baseline)} | ${cell(r.ratio)} | ${r.goal} | ${r.met ? "yes" : "**no**"} | ${cell(r.p50_ms)} | ${cell(r.p99_ms)} | ${cell(r.errors)} |`),
  "",
  ...results.filter((r) => r.notes).map((r) => `- \`${r.id}\`: ${r.notes}`),
].join("\n");

const docs = `${ROOT}docs/benchmarks.md`;
if (!only) {
  const begin = "<!-- results:begin -->";
  const end = "<!-- results:end -->";
  const text = existsSync(docs) ? readFileSync(docs, "utf8") : `# Benchmarks\n\n${begin}\n${end}\n`;
  const updated = text.includes(begin)
    ? `${text.slice(0, text.indexOf(begin) + begin.length)}\n${table}\n${text.slice(text.indexOf(end))}`
    : `${text}\n${begin}\n${table}\n${end}\n`;
  writeFileSync(docs, updated);
}
process.stdout.write(`${table}\n\nwrote ${file}${only ? "" : " and docs/benchmarks.md"}\n`);
process.exit(0);
