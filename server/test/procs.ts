import { readdirSync, readFileSync } from "node:fs";

/** True while `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** The parent pid of `pid`, from /proc. */
export function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/**
 * Waits until every pid is gone. Processes that are not our children cannot
 * be awaited by event, so this checks /proc until the fact holds or the time
 * is up.
 */
export async function waitForExit(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes still alive after ${timeoutMs} ms: ${alive.join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Waits until `fact()` holds (returns neither false nor undefined), checking
 * every few milliseconds, for facts no event announces (e.g. a call reaching
 * a worker over the network); resolves with what it returned.
 */
export async function until<T>(fact: () => T | false | undefined | Promise<T | false | undefined>, timeoutMs: number, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fact();
    if (value !== false && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Every live process in a process group, from /proc. */
export function processesInGroup(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid && fields[0] !== "Z") out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

/** A process's command line with spaces between arguments, or "" once it is gone. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0+$/, "").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

/**
 * The members of a process group once every command in `commands` runs in
 * it. A group grows after its leader starts (a shell forks its children
 * later), so reading it at once races with that start; this waits for the
 * fact instead.
 */
export async function groupRunning(pgid: number, commands: string[], timeoutMs: number): Promise<number[]> {
  let members: number[] = [];
  await until(() => {
    members = processesInGroup(pgid);
    const running = new Set(members.map(commandLine));
    return commands.every((c) => running.has(c));
  }, timeoutMs, `process group ${pgid} to run ${commands.map((c) => `"${c}"`).join(" and ")}`);
  return members;
}
