import type { z } from "zod";

/** One line per problem, each naming the key: `pools[0].size: must be >= 0`. */
export function formatIssues(prefix: string, issues: z.core.$ZodIssue[]): string {
  return issues.map((issue) => {
    const path = issue.path.reduce<string>((acc, part) => (typeof part === "number" ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), "");
    const where = [prefix, path].filter(Boolean).join(path && prefix ? "." : "");
    if (issue.code === "unrecognized_keys") {
      const keys = (issue as { keys: string[] }).keys.map((k) => (where ? `${where}.${k}` : k));
      return `unknown key ${keys.join(", ")} (check its spelling against docs/configuration.md)`;
    }
    return `${where || "(top level)"}: ${issue.message}`;
  }).join("; ");
}
