import { createClient } from "@pyfleet/sdk/node";
import { execa } from "execa";
import { describe, expect, it, onTestFinished } from "vitest";
import type { MockProvider } from "../../src/index.js";
import { startServer } from "../helpers.js";

const KEYS = [{ name: "alice", key: "alice-key-0123456789" }, { name: "bob", key: "bob-key-0123456789ab" }];

describe("WatchComputeLogs", { timeout: 240_000 }, () => {
  it("streams a mock machine's log through the SDK and the CLI, follows it, and refuses providers without logs", async () => {
    const server = await startServer({ pools: [], auth: { apiKeys: KEYS } });
    const alice = createClient({ baseUrl: server.url, apiKey: KEYS[0]!.key });
    const bob = createClient({ baseUrl: server.url, apiKey: KEYS[1]!.key });
    onTestFinished(() => { alice.close(); bob.close(); });
    const handle = await alice.compute.spawn({ provider: "mock", image: "img:1" });
    const machine = handle.info.providerId;
    const mock = server.compute.providerNamed("mock") as MockProvider;
    mock.writeLog(machine, "hello from the machine");

    const lines = async (options: { follow?: boolean; tail?: number; signal?: AbortSignal } = {}) => {
      const out = [];
      for await (const l of handle.logs(options)) out.push(l);
      return out;
    };
    const all = await lines();
    expect(all.map((l) => [l.source, l.text])).toEqual([["system", `mock machine ${machine} started from img:1`], ["container", "hello from the machine"]]);
    expect(all.every((l) => l.time instanceof Date)).toBe(true);
    expect((await lines({ tail: 1 })).map((l) => l.text)).toEqual(["hello from the machine"]);
    expect(await lines({ tail: 0 })).toEqual([]);

    // follow: new lines until the machine is terminated, then the stream ends.
    const followed = handle.logs({ follow: true, tail: 1, signal: AbortSignal.timeout(30_000) })[Symbol.asyncIterator]();
    expect((await followed.next()).value?.text).toBe("hello from the machine");
    mock.writeLog(machine, "live line");
    expect((await followed.next()).value?.text).toBe("live line");
    await handle.terminate();
    expect((await followed.next()).value?.text).toBe(`mock machine ${machine} terminated`);
    expect((await followed.next()).done).toBe(true);
    await expect(lines()).rejects.toMatchObject({ code: "failed_precondition" });

    // Another tenant's compute is not found; a provider without logs says so.
    const other = await bob.compute.spawn({ provider: "mock", image: "img:1" });
    await expect(bob.compute.get(handle.id)).rejects.toMatchObject({ code: "not_found" });
    await expect(bob.rpc.compute.watchComputeLogs({ computeId: handle.id })[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: "not_found" });
    const local = await bob.compute.spawn({ provider: "local" });
    await expect(local.logs().next()).rejects.toMatchObject({ code: "unimplemented", message: expect.stringContaining('provider "local" (local) keeps no machine logs') });
    await local.terminate();

    const cli = (args: string[]) => execa("node", ["--conditions=pyfleet-source", "--import", "tsx", "server/src/cli/main.ts", ...args],
      { env: { PYFLEET_URL: server.url, PYFLEET_API_KEY: KEYS[1]!.key }, reject: false, timeout: 120_000 });
    const [text, json] = await Promise.all([cli(["compute", "logs", other.id]), cli(["--json", "compute", "logs", other.id, "--tail", "1"])]);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z \\[system\\] mock machine ${other.info.providerId} started from img:1$`));
    expect(JSON.parse(json.stdout)).toMatchObject({ text: `mock machine ${other.info.providerId} started from img:1`, source: "system" });
  });
});
