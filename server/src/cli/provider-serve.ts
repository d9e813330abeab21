import { createProvider, type ProviderConfig, providerConfigSchema } from "../compute/index.js";
import { loadConfig } from "../config/index.js";
import { PyfleetError } from "../errors.js";
import { createLogger } from "../log/index.js";
import { defaultPython } from "../pool/config.js";
import { serveProvider } from "../provider-server.js";

export interface ProviderServeOptions {
  port?: string;
  host?: string;
  /** A pyfleet.yaml whose compute.providers has an entry of this kind (its settings are used). */
  config?: string;
}

const KINDS = ["mock", "local", "runpod", "kubernetes"] as const;

/** The provider's settings: from --config's first entry of the kind, else the kind's defaults. */
function providerConfig(kind: string, file: string | undefined): ProviderConfig {
  if (!file) return providerConfigSchema.parse({ kind });
  const entry = loadConfig(file).compute.providers.find((p) => p.kind === kind);
  if (!entry) throw new PyfleetError("invalid_argument", `${file}: compute.providers has no provider of kind "${kind}"`);
  return entry;
}

/**
 * `pyfleet provider serve KIND`: one built-in provider as a standalone
 * ProviderService endpoint, to certify it with pyfleet-conformance or to
 * use it from another server as a "remote" provider.
 */
export async function serveProviderCommand(kind: string, options: ProviderServeOptions): Promise<void> {
  if (!(KINDS as readonly string[]).includes(kind)) {
    throw new PyfleetError("invalid_argument", `provider kind must be one of ${KINDS.join(", ")} (got "${kind}")`);
  }
  const port = Number(options.port ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new PyfleetError("invalid_argument", `--port must be a port number from 0 to 65535 (got "${options.port}")`);
  const logger = createLogger("info");
  const provider = createProvider(providerConfig(kind, options.config), { logger, dataDir: ".", python: defaultPython() });
  const server = await serveProvider(provider, { host: options.host ?? "127.0.0.1", port });
  logger.info({ ready: true, url: server.url, provider: provider.name }, `provider "${provider.name}" serves pyfleet.provider.v1.ProviderService at ${server.url}`);
  const stop = () => {
    void server.close().then(async () => {
      await provider.close?.();
      process.exit(0);
    });
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
