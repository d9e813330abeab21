import type { z } from "zod";

/** One problem with one key of a configuration. */
export interface ConfigIssue {
  /** Where the key lives, e.g. ["pools", 0, "size"]. */
  path: (string | number)[];
  /** What is wrong and what fits. */
  message: string;
  /** The key itself is not a setting (misspelled or misplaced). */
  unknownKey?: boolean;
}

/** `pools[0].size` for ["pools", 0, "size"]. */
export function keyName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => (typeof part === "number" ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), "");
}

/** zod's issues as config issues: one per unknown key, each with its full path. */
export function toConfigIssues(issues: z.core.$ZodIssue[], prefix: (string | number)[] = []): ConfigIssue[] {
  return issues.flatMap((issue): ConfigIssue[] => {
    const path = [...prefix, ...(issue.path as (string | number)[])];
    if (issue.code === "unrecognized_keys") {
      return (issue as { keys: string[] }).keys.map((k) => ({ path: [...path, k], message: "unknown key", unknownKey: true }));
    }
    return [{ path, message: issue.message }];
  });
}

/** One line: `pools[0].size: Too small ...`, or `unknown key pools[0].sise (...)`. */
export function describeIssue(issue: ConfigIssue): string {
  const name = keyName(issue.path);
  if (issue.unknownKey) return `unknown key ${name} (check its spelling against docs/configuration.md)`;
  return `${name || "(top level)"}: ${issue.message}`;
}

/** One line per problem, each naming the key: `pools[0].size: must be >= 0`. */
export function formatIssues(prefix: string, issues: z.core.$ZodIssue[]): string {
  return toConfigIssues(issues, prefix ? [prefix] : []).map(describeIssue).join("; ");
}
