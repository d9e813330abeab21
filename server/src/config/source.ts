import { readFileSync } from "node:fs";
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { PyfleetError } from "../errors.js";
import { type ConfigIssue, describeIssue } from "./issues.js";

/** A problem located in the file: `pyfleet.yaml:4:5`. */
export interface LocatedIssue extends ConfigIssue {
  /** "file:line:column" in the file, or the environment variable that set the key. */
  where?: string;
  line?: number;
  column?: number;
}

/** A configuration that does not load; `issues` says where and why, one per problem. */
export class ConfigError extends PyfleetError {
  constructor(message: string, readonly issues: LocatedIssue[]) {
    super("invalid_argument", message);
  }
}

/** The line a located issue prints as. */
export function formatLocated(issue: LocatedIssue): string {
  return issue.where ? `${issue.where}: ${describeIssue(issue)}` : describeIssue(issue);
}

/**
 * A YAML config file kept with its syntax tree, so a problem found in the
 * parsed values can name the line and column of the key that caused it.
 */
export class ConfigSource {
  private constructor(
    readonly file: string,
    readonly value: Record<string, unknown>,
    private readonly doc: ReturnType<typeof parseDocument>,
    private readonly lines: LineCounter,
  ) {}

  /** Reads and parses a file; YAML syntax errors come back located. */
  static read(file: string): ConfigSource {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`, []);
    }
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
    if (doc.errors.length > 0) {
      const issues = doc.errors.map((e): LocatedIssue => {
        const { line, col } = lines.linePos(e.pos[0]);
        return { path: [], message: `not valid YAML: ${e.message}`, where: `${file}:${line}:${col}`, line, column: col };
      });
      throw new ConfigError(`config file ${file} is not valid YAML:\n${issues.map((i) => `  ${i.where}: ${i.message.slice("not valid YAML: ".length)}`).join("\n")}`, issues);
    }
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined && (typeof value !== "object" || Array.isArray(value))) {
      throw new ConfigError(`config file ${file} must be a YAML mapping of settings (got ${Array.isArray(value) ? "a list" : typeof value})`, [{ path: [], message: "must be a mapping of settings", where: `${file}:1:1`, line: 1, column: 1 }]);
    }
    return new ConfigSource(file, (value ?? {}) as Record<string, unknown>, doc, lines);
  }

  /**
   * The issue with its place in the file: the key itself for an unknown key,
   * else the value; for a missing key, the mapping that lacks it.
   */
  locate(issue: ConfigIssue): LocatedIssue {
    const ranged = (n: unknown): n is Node => typeof n === "object" && n !== null && Array.isArray((n as Node).range);
    let node: unknown = this.doc.contents;
    let at: Node | undefined = ranged(node) ? node : undefined;
    for (const [i, part] of issue.path.entries()) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part));
        if (!pair) break;
        if (i === issue.path.length - 1 && issue.unknownKey && isScalar(pair.key)) {
          at = pair.key;
          break;
        }
        node = pair.value;
      } else if (isSeq(node) && typeof part === "number" && part < node.items.length) {
        node = node.items[part];
      } else {
        break;
      }
      if (ranged(node)) at = node;
    }
    const offset = at?.range?.[0];
    if (offset === undefined) return { ...issue, where: `${this.file}:1:1`, line: 1, column: 1 };
    const { line, col } = this.lines.linePos(offset);
    return { ...issue, where: `${this.file}:${line}:${col}`, line, column: col };
  }
}
