import { Writable } from "node:stream";
import { createClient } from "@connectrpc/connect";
import { ComputeService } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { apiKeySet } from "../../../server/src/auth/keys.js";
import { byScale, type ChaosOptions, type ChaosResult, codeOf, type Protocol, poolClient, startServer, transportFor } from "../lib.js";

const ALICE = "alice-key-0123456789abcdef";
const BOB = "bob-key-0123456789abcdef00";
/** Wrong keys, a near miss among them: they are secrets too (a typo of a real key) and must not be logged either. */
const WRONG = ["alice-key-0123456789abcdeX", "not-a-key-at-all-000000000", "alice-key-0123456789abcde", "Bearer", "x".repeat(4096)];

class LogCapture extends Writable {
  text = "";
  lines = 0;
  override _write(chunk: Buffer, _encoding: string, done: () => void) {
    this.text += chunk.toString();
    this.lines += chunk.toString().split("\n").length - 1;
    done();
  }
}

/** Median time of `fn` over `rounds` batches, interleaved by the caller. */
function timeBatch(fn: () => void, n: number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - started) / n;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * No key, wrong keys, another tenant's session and compute ids, tool names
 * that are not registered tools, over every protocol, with the server
 * logging at trace: each is refused with the right code, no key appears in
 * any log line, and key checks take the same time however close a guess is.
 */
export async function security(o: ChaosOptions): Promise<ChaosResult> {
  const logs = new LogCapture();
  const { server, close } = await startServer({
    logLevel: "trace",
    auth: { apiKeys: [{ name: "alice", key: ALICE }, { name: "bob", key: BOB }], workerTokens: [] },
  }, { logDestination: logs });
  const counts = { checks: 0, passed: 0 };
  const notes: string[] = [];
  const expect = (what: string, got: string, want: string | RegExp) => {
    counts.checks++;
    if (typeof want === "string" ? got === want : want.test(got)) counts.passed++;
    else notes.push(`${what}: got ${got}, want ${want}`);
  };
  const outcome = (p: Promise<unknown>) => p.then(() => "OK", codeOf);

  for (const protocol of ["connect", "grpc", "grpc-web"] as Protocol[]) {
    const anonymous = poolClient(server.url, protocol);
    expect(`${protocol} Execute without a key`, await outcome(anonymous.execute({ tool: "echo" })), "UNAUTHENTICATED");
    expect(`${protocol} CreateSession without a key`, await outcome(anonymous.createSession({})), "UNAUTHENTICATED");
    expect(`${protocol} SpawnCompute without a key`, await outcome(createClient(ComputeService, transportFor(server.url, protocol)).spawnCompute({ spec: { provider: "mock" } })), "UNAUTHENTICATED");
    for (const key of WRONG) {
      expect(`${protocol} Execute with a wrong key`, await outcome(poolClient(server.url, protocol, key).execute({ tool: "echo" })), "UNAUTHENTICATED");
    }

    // Alice's things are invisible to Bob.
    const alice = poolClient(server.url, protocol, ALICE);
    const bob = poolClient(server.url, protocol, BOB);
    const aliceCompute = createClient(ComputeService, transportFor(server.url, protocol, ALICE));
    const bobCompute = createClient(ComputeService, transportFor(server.url, protocol, BOB));
    const session = (await alice.createSession({})).session!.id;
    await alice.setVariable({ sessionId: session, name: "secret", value: { kind: { case: "stringValue", value: "alice's" } } });
    const compute = (await aliceCompute.spawnCompute({ spec: { provider: "mock" } })).compute!.id;
    expect(`${protocol} Bob GetSession of Alice's`, await outcome(bob.getSession({ sessionId: session })), "NOT_FOUND");
    expect(`${protocol} Bob Execute in Alice's session`, await outcome(bob.execute({ tool: "echo", sessionId: session })), "NOT_FOUND");
    expect(`${protocol} Bob GetVariable of Alice's`, await outcome(bob.getVariable({ sessionId: session, name: "secret" })), "NOT_FOUND");
    expect(`${protocol} Bob SetVariable in Alice's`, await outcome(bob.setVariable({ sessionId: session, name: "secret", value: { kind: { case: "stringValue", value: "bob's" } } })), "NOT_FOUND");
    expect(`${protocol} Bob DeleteSession of Alice's`, await outcome(bob.deleteSession({ sessionId: session })), "NOT_FOUND");
    expect(`${protocol} Bob lists no sessions of Alice's`, String((await bob.listSessions({})).sessions.some((s) => s.id === session)), "false");
    expect(`${protocol} Bob GetCompute of Alice's`, await outcome(bobCompute.getCompute({ id: compute })), "NOT_FOUND");
    expect(`${protocol} Bob TerminateCompute of Alice's`, await outcome(bobCompute.terminateCompute({ id: compute })), "NOT_FOUND");
    expect(`${protocol} Bob lists no computes of Alice's`, String((await bobCompute.listComputes({})).computes.some((c) => c.id === compute)), "false");
    // ...and still Alice's, untouched.
    const value = await alice.getVariable({ sessionId: session, name: "secret" }).then((r) => String(r.variable?.value?.kind.value), codeOf);
    expect(`${protocol} Alice's variable after Bob's attempts`, value, "alice's");
    expect(`${protocol} Alice's compute after Bob's attempts`, await outcome(aliceCompute.getCompute({ id: compute })), "OK");
    await alice.deleteSession({ sessionId: session });
    await aliceCompute.terminateCompute({ id: compute });

    // Only registered tools run: no Python names, dunders, lifecycle methods or paths.
    for (const tool of ["__import__", "os.system", "eval", "setup", "teardown", "_private", "__init__", "../echo", "echo; rm -rf /", "ECHO", ""]) {
      expect(`${protocol} Execute of "${tool}"`, await outcome(alice.execute({ tool, args: { cmd: "id" } })), /^(NOT_FOUND|INVALID_ARGUMENT)$/);
    }
  }

  // Keys in logs: at trace, with every call above logged.
  const secrets = [ALICE, BOB, ...WRONG.filter((k) => k.length >= 16)];
  const leaked = secrets.filter((k) => logs.text.includes(k));
  expect("log lines containing a key", String(leaked.length), "0");

  // Constant time: a near miss (all but the last character) vs a guess wrong from the first character.
  const keys = apiKeySet([{ name: "alice", key: ALICE }, { name: "bob", key: BOB }]);
  const near = "alice-key-0123456789abcdeX";
  const far = "XXXXXXXXXXXXXXXXXXXXXXXXXX";
  const rounds = byScale(o.scale, { test: 11, quick: 31, full: 101 });
  const nearNs: number[] = [];
  const farNs: number[] = [];
  const rightNs: number[] = [];
  for (const candidate of [near, far, ALICE]) timeBatch(() => keys.match(candidate), 20_000); // warm up the JIT
  const series: Array<[string, number[]]> = [[near, nearNs], [far, farNs], [ALICE, rightNs]];
  for (let r = 0; r < rounds; r++) {
    // A different order each round, so drift does not favour one candidate.
    for (let i = 0; i < series.length; i++) {
      const [candidate, times] = series[(i + r) % series.length]!;
      times.push(timeBatch(() => keys.match(candidate), 2_000));
    }
  }
  const ratio = median(nearNs) / median(farNs);
  const rightRatio = median(rightNs) / median(farNs);
  const constantTime = Math.abs(ratio - 1) < 0.1 && Math.abs(rightRatio - 1) < 0.1;
  if (!constantTime) notes.push(`key check times differ: near miss / far miss ${ratio.toFixed(3)}, right key / far miss ${rightRatio.toFixed(3)}`);
  await close();

  return {
    id: "security.auth",
    what: "over connect, grpc and grpc-web: calls with no key and 5 wrong keys; Bob reading, writing, running in and deleting Alice's session, variables and compute; 11 unregistered tool names; logs at trace scanned for keys; key checks timed for a near miss, a far miss and the right key",
    counts: { ...counts, log_lines: logs.lines, leaked_keys: leaked.length, constant_time: constantTime ? 1 : 0 },
    figure: `${counts.passed}/${counts.checks} checks passed; ${logs.lines} trace log lines, ${leaked.length} with a key; key check time near miss / far miss ${ratio.toFixed(3)}, right / far ${rightRatio.toFixed(3)}`,
    goal: "UNAUTHENTICATED; NOT_FOUND; no key ever appears in any log line; keys compared in constant time (within 10%); only registered tools can run",
    met: counts.passed === counts.checks && constantTime,
    notes,
  };
}
