export { Fleet, type FleetOptions } from "./fleet.js";
export { HOP_HEADER, type Hop, type PoolClient } from "./forward.js";
export { replicaOfSession } from "./ids.js";
export { SessionRouter } from "./router.js";
