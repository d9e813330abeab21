import { defaults } from "./defaults.js";
import type { ServerConfig } from "./types.js";

export { defaults } from "./defaults.js";
export type { LogLevel, ServerConfig } from "./types.js";

/** Fills in every setting `partial` leaves out with its default. */
export function resolveConfig(partial: Partial<ServerConfig> = {}): ServerConfig {
  return { ...defaults, ...partial };
}
