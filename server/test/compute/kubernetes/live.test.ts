// spawn -> ready -> terminate on a real cluster; skipped unless KUBECONFIG names one.
import { create } from "@bufbuild/protobuf";
import { MachineSpecSchema, MachineStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { describe, expect, it } from "vitest";
import { providerConfigSchema } from "../../../src/compute/index.js";
import { KubernetesProvider } from "../../../src/index.js";
import { createLogger } from "../../../src/log/index.js";

const kubeconfig = process.env.KUBECONFIG;

describe.skipIf(!kubeconfig)("KubernetesProvider on the cluster in $KUBECONFIG", () => {
  it("spawns a pod, sees it ready, and terminates it", async () => {
    const config = providerConfigSchema.parse({ kind: "kubernetes", kubeconfig, namespace: process.env.PYFLEET_K8S_NAMESPACE });
    if (config.kind !== "kubernetes") throw new Error("unreachable");
    const p = new KubernetesProvider({ ...config, logger: createLogger("silent") });
    try {
      const m = await p.spawn(create(MachineSpecSchema, {
        image: process.env.PYFLEET_K8S_LIVE_IMAGE ?? "busybox:1.36", command: ["sleep", "3600"], labels: { "pyfleet.managed": "true", test: "live" },
      }), `live-${Date.now()}`);
      const ready = await new Promise<MachineStatus>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${m.id} not running after 5 minutes`)), 300_000);
        const check = (status: MachineStatus) => {
          if (status === MachineStatus.RUNNING) {
            clearTimeout(timer);
            off();
            resolve(status);
          }
        };
        const off = p.onMachine((x) => x.id === m.id && check(x.status));
        void p.get(m.id).then((x) => check(x.status));
      });
      expect(ready).toBe(MachineStatus.RUNNING);
      expect((await p.terminate(m.id)).status).toBe(MachineStatus.TERMINATED);
    } finally {
      await p.close();
    }
  }, 360_000);
});
