import { createHash, timingSafeEqual } from "node:crypto";

export interface ApiKey {
  /** The tenant this key acts for; also what logs show instead of the key. */
  name: string;
  key: string;
}

function digest(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

/**
 * A set of secrets checked in constant time: every candidate is compared
 * with every known secret (as fixed-length SHA-256 digests), so the time
 * taken says nothing about how close a guess was or which key matched.
 */
export class SecretSet<T> {
  private readonly entries: { digest: Buffer; value: T }[] = [];

  add(secret: string, value: T): void {
    this.entries.push({ digest: digest(secret), value });
  }

  remove(predicate: (value: T) => boolean): void {
    for (let i = this.entries.length - 1; i >= 0; i--) if (predicate(this.entries[i]!.value)) this.entries.splice(i, 1);
  }

  get size(): number {
    return this.entries.length;
  }

  match(candidate: string): T | undefined {
    const d = digest(candidate);
    let found: T | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, d) && found === undefined) found = entry.value;
    }
    return found;
  }
}

/** The tenants' API keys. */
export function apiKeySet(keys: ApiKey[]): SecretSet<string> {
  const set = new SecretSet<string>();
  for (const k of keys) set.add(k.key, k.name);
  return set;
}
