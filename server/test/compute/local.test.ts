import { create } from "@bufbuild/protobuf";
import { MachineSpecSchema, MachineStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { execa } from "execa";
import { describe, expect, it, onTestFinished } from "vitest";
import { LocalProvider } from "../../src/compute/index.js";
import { createLogger } from "../../src/log/index.js";
import { commandLine, groupRunning, until, waitForExit } from "../procs.js";

function localProvider() {
  const p = new LocalProvider({ python: "python3", logger: createLogger("silent") });
  onTestFinished(() => p.close());
  return p;
}

describe("local provider", () => {
  it("runs a machine as a process group; stop, start and terminate act on the whole group", async () => {
    const local = localProvider();
    const m = await local.spawn(create(MachineSpecSchema, { command: ["sleep", "300"] }), "r");
    expect(m.status).toBe(MachineStatus.RUNNING);
    const group = m.pids[0]!;
    // The supervisor shell, its stdin watcher and the command.
    const before = await groupRunning(group, ["sleep 300", "cat"], 5_000);
    expect(before).toContain(group);
    expect((await local.stop(m.id)).status).toBe(MachineStatus.STOPPED);
    await waitForExit(before, 5_000);
    const restarted = await local.start(m.id);
    expect(restarted.status).toBe(MachineStatus.RUNNING);
    const again = await groupRunning(restarted.pids[0]!, ["sleep 300", "cat"], 5_000);
    expect((await local.terminate(m.id)).status).toBe(MachineStatus.TERMINATED);
    await waitForExit(again, 5_000);
  });

  it("reports a machine whose command fails as FAILED", async () => {
    const local = localProvider();
    const m = await local.spawn(create(MachineSpecSchema, { command: ["sh", "-c", "exit 7"] }), "r");
    await until(async () => (await local.get(m.id)).status !== MachineStatus.RUNNING, 5_000, "the command to exit");
    expect((await local.get(m.id)).status).toBe(MachineStatus.FAILED);
    expect((await local.get(m.id)).message).toContain("code 7");
  });

  it("takes a compute's processes down with the server when the server is SIGKILLed", async () => {
    const host = execa("node", ["--conditions=pyfleet-source", "--import", "tsx", "server/test/compute/fixtures/local-host.ts"], { reject: false });
    const line = await new Promise<string>((resolve) => host.stdout!.once("data", (b: Buffer) => resolve(b.toString())));
    const { group } = JSON.parse(line) as { group: number };
    // Wait for the compute's own start (its shell forks the command after the fixture prints the group).
    const members = await groupRunning(group, ["sleep 300", "cat"], 5_000);
    expect(members.map(commandLine)).toContain("sleep 300");
    host.kill("SIGKILL");
    await host;
    await waitForExit(members, 5_000);
  });
});
