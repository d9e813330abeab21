import { randomBytes } from "node:crypto";
import { SecretSet } from "./keys.js";

/** What a worker token lets its holder do. */
export interface AttachGrant {
  /** The only pool it may join; undefined: the pool the worker names. */
  pool?: string;
  /** Tag for the attached workers, e.g. the compute that runs them. */
  group?: string;
}

/**
 * Tokens that let workers dial in over WorkerLinkService.Attach: static ones
 * from the config (any pool), and ones issued for one compute's worker group.
 */
export class WorkerTokens {
  private readonly secrets = new SecretSet<AttachGrant>();

  constructor(staticTokens: string[] = []) {
    for (const token of staticTokens) this.secrets.add(token, {});
  }

  /** A new token for `group`'s workers to join `pool`. */
  issue(pool: string, group: string): string {
    const token = `pfw_${randomBytes(24).toString("base64url")}`;
    this.secrets.add(token, { pool, group });
    return token;
  }

  /** Invalidates the tokens issued for `group`. */
  revoke(group: string): void {
    this.secrets.remove((grant) => grant.group === group);
  }

  match(token: string): AttachGrant | undefined {
    return this.secrets.match(token);
  }
}
