import { isIP } from "node:net";
import { PyfleetError } from "../errors.js";
import type { ProviderKind } from "./provider.js";
import type { WorkerGroupHost } from "./context.js";

/** Providers whose machines run on this host (local) or nowhere (mock): the bind address reaches them. */
const ON_THIS_HOST: ReadonlySet<ProviderKind> = new Set<ProviderKind>(["local", "mock"]);

/** Loopback and unspecified addresses: another machine cannot dial them. */
function unreachableFromElsewhere(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIP(host) === 4) return host.startsWith("127.") || host === "0.0.0.0";
  if (isIP(host) === 6) return host === "::1" || host === "::" || /^(0+:){7}0*[01]$/.test(host);
  return false;
}

/**
 * The URL a worker group's machines dial: the listener's for machines on this
 * host, else the configured public URL, which must exist and be reachable
 * from elsewhere (FAILED_PRECONDITION naming the setting otherwise).
 */
export function workerGroupUrl(host: WorkerGroupHost, provider: { name: string; kind: ProviderKind }): string {
  if (ON_THIS_HOST.has(provider.kind)) return host.serverUrl();
  const url = host.publicUrl();
  const fix = "set publicUrl in the config (or $PYFLEET_PUBLIC_URL) to an address those machines can reach, e.g. https://pyfleet.example.com";
  if (!url) throw new PyfleetError("failed_precondition", `worker groups on provider "${provider.name}" dial this server from their own machines, and no public URL is set: ${fix}`);
  if (unreachableFromElsewhere(url)) throw new PyfleetError("failed_precondition", `publicUrl is ${url}, a loopback or unspecified address that machines on provider "${provider.name}" cannot dial: ${fix}`);
  return url;
}
