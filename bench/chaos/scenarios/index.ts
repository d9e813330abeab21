import type { ChaosOptions, ChaosResult } from "../lib.js";
import { malformedRequests } from "./malformed.js";
import { runpodFaults } from "./runpod-faults.js";
import { saturation } from "./saturation.js";
import { soak } from "./soak.js";
import { security } from "./security.js";
import { serverKill } from "./server-kill.js";
import { toolsMisbehave } from "./tools-misbehave.js";
import { workerKills } from "./worker-kills.js";

/** Every scenario by id, in the order `npm run chaos` runs them. */
export const SCENARIOS: Record<string, (o: ChaosOptions) => Promise<ChaosResult>> = {
  "workers.sigkill": workerKills,
  "server.sigkill": serverKill,
  "tools.misbehave": toolsMisbehave,
  "protocol.malformed": malformedRequests,
  "pool.saturation": saturation,
  "runpod.faults": runpodFaults,
  "security.auth": security,
  "soak.mixed": soak,
};
