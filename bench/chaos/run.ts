// `npm run chaos [-- --quick] [-- --only=workers.sigkill,...]`: the reliability
// and security scenarios against real servers and workers on loopback; writes
// bench/results/reliability.json and the table of docs/reliability.md.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { machine, ROOT } from "../lib.js";
import type { ChaosOptions, ChaosResult } from "./lib.js";
import { SCENARIOS } from "./scenarios/index.js";

const quick = process.argv.includes("--quick");
const onlyArg = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const only = onlyArg ? new Set(onlyArg.split(",")) : undefined;
const options: ChaosOptions = { scale: quick ? "quick" : "full", log: (line) => process.stderr.write(`[chaos] ${line}\n`) };

const started = performance.now();
const results: ChaosResult[] = [];
for (const [id, run] of Object.entries(SCENARIOS)) {
  if (only && !only.has(id)) continue;
  options.log(`${id}...`);
  const t = performance.now();
  const result = await run(options).catch((e: unknown): ChaosResult => ({
    id, what: "the scenario itself failed", counts: {}, figure: String((e as Error)?.stack ?? e), goal: "", met: false, notes: [],
  }));
  options.log(`${id}: ${result.met ? "met" : "NOT MET"} in ${Math.round((performance.now() - t) / 1000)} s: ${result.figure}`);
  for (const note of result.notes) options.log(`  ${note}`);
  results.push(result);
}
const report = {
  machine: machine(),
  command: `npm run chaos${quick ? " -- --quick" : ""}`,
  date: new Date().toISOString(),
  seconds: Math.round((performance.now() - started) / 1000),
  results,
};
mkdirSync(`${ROOT}bench/results`, { recursive: true });
writeFileSync(`${ROOT}bench/results/${only ? "reliability-partial" : "reliability"}.json`, `${JSON.stringify(report, null, 2)}\n`);

if (!only) {
  const table = [
    `Measured ${report.date.slice(0, 10)} with \`${report.command}\` in ${report.seconds} s on ${report.machine.cores} cores, ${report.machine.memory_gib} GiB, Node ${report.machine.node}, Python ${report.machine.python}.`,
    "",
    "| scenario | what was done | figure | goal | met |",
    "|---|---|---|---|---|",
    ...results.map((r) => `| \`${r.id}\` | ${r.what} | ${r.figure} | ${r.goal} | ${r.met ? "yes" : "**no**"} |`),
    "",
    ...results.filter((r) => r.notes.length > 0).map((r) => `- \`${r.id}\`: ${r.notes.join("; ")}`),
  ].join("\n");
  const docs = `${ROOT}docs/reliability.md`;
  const begin = "<!-- results:begin -->";
  const end = "<!-- results:end -->";
  const text = existsSync(docs) ? readFileSync(docs, "utf8") : `# Reliability\n\n${begin}\n${end}\n`;
  writeFileSync(docs, text.replace(new RegExp(`${begin}[\\s\\S]*${end}`), `${begin}\n${table}\n${end}`));
}
const failed = results.filter((r) => !r.met);
process.stderr.write(`[chaos] ${results.length - failed.length} of ${results.length} scenarios met their goals\n`);
process.exit(failed.length > 0 ? 1 : 0);
