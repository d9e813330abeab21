import { execFileSync } from "node:child_process";
import { type BenchOptions, type BenchResult, buildServer, median, ROOT, round } from "../lib.js";

// A port nothing listens on: `--version` asks the server at --url for its
// version, and a refused connection answers at once.
const NO_SERVER = "http://127.0.0.1:9";
const COMMANDS = [["--url", NO_SERVER, "--version"], ["tools", "--help"]];

function timeMs(args: string[]): number {
  const start = performance.now();
  execFileSync(process.execPath, args, { cwd: ROOT, stdio: "ignore" });
  return performance.now() - start;
}

/**
 * `pyfleet --version` and `pyfleet tools --help` through the installed bin
 * (compiled JavaScript), against the same commands run from source through
 * tsx, as the bin did before the packages were built.
 */
export async function cliBenchmarks(o: BenchOptions): Promise<BenchResult[]> {
  buildServer();
  const runs = o.quick ? 5 : 15;
  const compiled = COMMANDS.map(() => [] as number[]);
  const tsx = COMMANDS.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    // Alternated, so the machine's drift touches both alike.
    COMMANDS.forEach((args, i) => {
      compiled[i]!.push(timeMs(["server/bin/pyfleet.js", ...args]));
      tsx[i]!.push(timeMs(["--conditions=pyfleet-source", "--import", "tsx", "server/src/cli/main.ts", ...args]));
    });
  }
  const value = Math.max(...compiled.map(median));
  const baseline = Math.max(...tsx.map(median));
  o.log(`cli: ${COMMANDS.map((a, i) => `${a.at(-1)} ${Math.round(median(compiled[i]!))} ms (tsx ${Math.round(median(tsx[i]!))} ms)`).join(", ")}`);
  return [{
    id: "startup.cli",
    what: "`pyfleet --version` and `pyfleet tools --help` through the bin (compiled), the slower median of the two; baseline: the same from source through tsx",
    value: Math.round(value),
    unit: "ms",
    baseline: Math.round(baseline),
    ratio: round(baseline / value, 2),
    goal: "< 250 ms median",
    met: value < 250,
    notes: COMMANDS.map((a, i) => `${a.slice(a[0] === "--url" ? 2 : 0).join(" ")}: ${Math.round(median(compiled[i]!))} ms (tsx ${Math.round(median(tsx[i]!))} ms)`).join("; ") + `; ${runs} runs each`,
  }];
}
