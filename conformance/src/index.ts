export { jsonReport, junitReport } from "./report/report.js";
export { runSuites, type CaseResult, type RunOptions, type RunSummary, type Target, type Verdict } from "./run/runner.js";
export { loadSuites, parseSuite } from "./suite/load.js";
export { createCaller, type Caller, type CallOutcome, type Protocol } from "./rpc/caller.js";
export { niceGrpcDefinition } from "./grpc/nice-grpc-definition.js";
