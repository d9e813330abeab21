// `npm run bench [-- --quick] [-- --only e2e,link] [-- --gpu]`: every benchmark
// beside its baselines and peers in the same run; writes
// bench/results/latest.json (a run of some groups replaces only their rows) and
// the results table of docs/benchmarks.md. --quick writes
// bench/results/partial.json only. --gpu runs only the gpu group (a real model
// on CUDA), which no other run includes; without CUDA it skips, writing nothing.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { batchBenchmarks } from "./cases/batch.js";
import { gpuBenchmarks } from "./cases/batch-gpu.js";
import { autoscaleBenchmarks } from "./cases/autoscale.js";
import { cliBenchmarks } from "./cases/cli.js";
import { e2eBenchmarks } from "./cases/e2e.js";
import { ensureH2load } from "./h2load.js";
import { linkBenchmarks } from "./cases/link.js";
import { forwardBenchmarks, processBenchmarks } from "./cases/scale.js";
import { sessionBenchmarks } from "./cases/sessions.js";
import { memoryBenchmarks, startupBenchmarks } from "./cases/startup.js";
import { type BenchOptions, type BenchResult, gitCommit, machine, ROOT } from "./lib.js";

const quick = process.argv.includes("--quick");
// `--only e2e,link` or `--only=e2e,link`: the groups to run.
const onlyAt = process.argv.findIndex((a) => a === "--only" || a.startsWith("--only="));
const onlyArg = onlyAt < 0 ? undefined : process.argv[onlyAt]!.startsWith("--only=") ? process.argv[onlyAt]!.slice("--only=".length) : process.argv[onlyAt + 1];
const gpu = process.argv.includes("--gpu");
const only = onlyArg || gpu ? new Set([...(onlyArg ? onlyArg.split(",").map((g) => g.trim()) : []), ...(gpu ? ["gpu"] : [])]) : undefined;
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
  ["processes", processBenchmarks],
  ["forward", forwardBenchmarks],
  ["autoscale", autoscaleBenchmarks],
  ["batch", batchBenchmarks],
  // Only with --gpu (or --only gpu): it installs torch, and needs CUDA.
  ["gpu", gpuBenchmarks],
];

if (only) {
  const unknown = [...only].filter((g) => !groups.some(([name]) => name === g));
  if (onlyAt >= 0 && (!onlyArg || unknown.length > 0)) {
    process.stderr.write(`--only takes a comma-separated list of groups: ${groups.map(([name]) => name).join(", ")}${unknown.length ? ` (unknown: ${unknown.join(", ")})` : ""}\n`);
    process.exit(2);
  }
}

// The e2e group's load generator is h2load: say how to get it before anything starts.
if (!only || only.has("e2e") || only.has("processes")) {
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
  if (only ? !only.has(name) : name === "gpu") continue;
  options.log(`${name}...`);
  results.push(...(await run(options)).map((r) => ({ ...r, commit })));
}
if (results.length === 0) {
  // e.g. --gpu without CUDA: keep the recorded results as they are.
  process.stdout.write("nothing was measured; nothing written\n");
  process.exit(0);
}
/** The group a row belongs to, by its id (rows of older runs carry no group). */
const GROUP_OF: [string, string][] = [["e2e.", "e2e"], ["peer.", "e2e"], ["stream.", "e2e"], ["link.", "link"], ["startup.", "startup"], ["memory.", "memory"], ["sessions.", "sessions"], ["scale.", "processes"], ["forward.", "forward"], ["batch.gpu", "gpu"], ["batch.", "batch"]];
const groupOf = (id: string) => GROUP_OF.find(([prefix]) => id.startsWith(prefix))?.[1] ?? id.split(".")[0]!;

const report = {
  machine: machine(),
  command: `npm run bench${quick || only ? ` --${quick ? " --quick" : ""}${only ? ` --only ${[...only].join(",")}` : ""}` : ""}`,
  commit,
  date: new Date().toISOString(),
  seconds: Math.round((performance.now() - started) / 1000),
  results,
};

// A full run of some groups replaces those groups' rows in latest.json and
// keeps the others, each row naming the commit it measured; a quick run only
// writes partial.json.
mkdirSync(`${ROOT}bench/results`, { recursive: true });
const latestFile = `${ROOT}bench/results/latest.json`;
const recordLatest = !quick;
let recorded = report;
if (recordLatest && only && existsSync(latestFile)) {
  const previous = JSON.parse(readFileSync(latestFile, "utf8")) as typeof report;
  const kept = previous.results.filter((r) => !only.has(groupOf(r.id))).map((r) => ({ ...r, commit: r.commit ?? previous.commit ?? "older run" }));
  recorded = { ...report, results: [...results, ...kept].sort((x, y) => groups.findIndex(([g]) => g === groupOf(x.id)) - groups.findIndex(([g]) => g === groupOf(y.id))) };
}
const file = recordLatest ? latestFile : `${ROOT}bench/results/partial.json`;
writeFileSync(file, `${JSON.stringify(recorded, null, 2)}\n`);

const cell = (v: unknown) => (v === undefined ? "" : String(v));
const short = (c: string | undefined) => (c ? c.replace(/^([0-9a-f]{9})[0-9a-f]*/, "$1") : "");
const rows = recorded.results;
const table = [
  `Last run ${report.date.slice(0, 10)} at commit \`${commit}\` with \`${report.command}\` in ${report.seconds} s on ${report.machine.cores} cores (${report.machine.cpu}), ${report.machine.memory_gib} GiB, Node ${report.machine.node}, Python ${report.machine.python}. Each row names the commit it measured.`,
  "",
  "| id | what | value | baseline | ratio | goal | met | p50 ms | p99 ms | errors | commit |",
  "|---|---|---|---|---|---|---|---|---|---|---|",
  ...rows.map((r) => `| \`${r.id}\` | ${r.what} | ${r.value} ${r.unit} | ${cell(r.baseline)} | ${cell(r.ratio)} | ${r.goal} | ${r.met ? "yes" : "**no**"} | ${cell(r.p50_ms)} | ${cell(r.p99_ms)} | ${cell(r.errors)} | ${short(r.commit)} |`),
  "",
  ...rows.filter((r) => r.notes).map((r) => `- \`${r.id}\`: ${r.notes}`),
].join("\n");

const docs = `${ROOT}docs/benchmarks.md`;
if (recordLatest) {
  const begin = "<!-- results:begin -->";
  const end = "<!-- results:end -->";
  const text = existsSync(docs) ? readFileSync(docs, "utf8") : `# Benchmarks\n\n${begin}\n${end}\n`;
  const updated = text.includes(begin)
    ? `${text.slice(0, text.indexOf(begin) + begin.length)}\n${table}\n${text.slice(text.indexOf(end))}`
    : `${text}\n${begin}\n${table}\n${end}\n`;
  writeFileSync(docs, updated);
}
process.stdout.write(`${table}\n\nwrote ${file}${recordLatest ? " and docs/benchmarks.md" : ""}\n`);
process.exit(0);
