import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { type Suite, SuiteSchema, TargetKind } from "@pyfleet/protocol/gen/pyfleet/conformance/v1/conformance_pb";
import { parse } from "yaml";

/** One suite file, parsed and checked against pyfleet.conformance.v1.Suite. */
export function parseSuite(text: string, file: string): Suite {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid YAML: ${(e as Error).message}`);
  }
  let suite: Suite;
  try {
    suite = fromJson(SuiteSchema, doc as JsonValue, { ignoreUnknownFields: false });
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  if (!suite.name) throw new Error(`${file}: the suite needs a name`);
  const names = new Set<string>();
  for (const [i, c] of suite.cases.entries()) {
    if (!c.name) throw new Error(`${file}: cases[${i}] needs a name`);
    if (names.has(c.name)) throw new Error(`${file}: two cases are named "${c.name}"`);
    names.add(c.name);
    if ((c.target || suite.target) === TargetKind.UNSPECIFIED) throw new Error(`${file}: case "${c.name}" has no target (set it on the suite or the case)`);
    for (const [j, step] of [...c.steps, ...c.cleanup].entries()) {
      if (!step.rpc && !step.http) throw new Error(`${file}: case "${c.name}" step ${j + 1} needs rpc or http`);
    }
  }
  return suite;
}

/** Every *.yaml suite in a directory, sorted by file name. */
export function loadSuites(dir: string): Suite[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort()
    .map((f) => parseSuite(readFileSync(join(dir, f), "utf8"), f));
}
