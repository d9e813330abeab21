import { create, toJson } from "@bufbuild/protobuf";
import { timestampFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  CancelJobResponseSchema,
  type Compute,
  ComputeSchema,
  type ComputeService,
  GetComputeResponseSchema,
  GetJobResponseSchema,
  type Job,
  JobSchema,
  ListComputesResponseSchema,
  ListGpuTypesResponseSchema,
  ListProvidersResponseSchema,
  RunJobResponseSchema,
  SpawnComputeResponseSchema,
  StartComputeResponseSchema,
  StopComputeResponseSchema,
  StreamJobResponseSchema,
  TerminateComputeResponseSchema,
  TouchComputeResponseSchema,
  WaitComputeResponseSchema,
  WatchComputesResponseSchema,
} from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { PyfleetError } from "../errors.js";
import type { ComputeRecord, JobRecord, Orchestrator } from "../compute/index.js";
import { tenantKey } from "./context.js";
import { toValue } from "./pool-convert.js";
import { durationMs, required, requiredMessage } from "./validate.js";

const MAX_PAGE = 1000;

function computeToProto(o: Orchestrator, c: ComputeRecord): Compute {
  const idle = o.idleExpiresAt(c);
  return create(ComputeSchema, {
    id: c.id,
    provider: c.provider,
    providerId: c.providerId,
    status: c.status,
    statusMessage: c.statusMessage,
    spec: c.spec,
    gpuType: c.gpuType,
    costPerHour: c.costPerHour,
    endpoints: c.endpoints,
    owner: c.owner,
    createdAt: timestampFromMs(c.createdAt),
    updatedAt: timestampFromMs(c.updatedAt),
    ...(c.readyAt !== undefined ? { readyAt: timestampFromMs(c.readyAt) } : {}),
    lastActiveAt: timestampFromMs(c.lastActiveAt),
    ...(idle !== undefined ? { idleExpiresAt: timestampFromMs(idle) } : {}),
    workersAttached: o.workersAttached(c),
  });
}

function jobToProto(j: JobRecord): Job {
  return create(JobSchema, {
    id: j.id,
    provider: j.provider,
    providerJobId: j.providerJobId,
    endpoint: j.endpoint,
    status: j.status,
    input: toValue(j.input),
    ...(j.output !== null ? { output: toValue(j.output) } : {}),
    error: j.error,
    owner: j.owner,
    createdAt: timestampFromMs(j.createdAt),
    ...(j.finishedAt !== undefined ? { finishedAt: timestampFromMs(j.finishedAt) } : {}),
  });
}

/** Thin ComputeService handlers over the orchestrator. */
export function computeService(o: Orchestrator): Partial<ServiceImpl<typeof ComputeService>> {
  const owner = (ctx: HandlerContext) => ctx.values.get(tenantKey);
  const compute = (c: ComputeRecord) => computeToProto(o, c);
  return {
    async spawnCompute(req, ctx) {
      const spec = requiredMessage(req.spec, "spec");
      durationMs(spec.idleTtl, "spec.idle_ttl");
      return create(SpawnComputeResponseSchema, { compute: compute(await o.spawn(owner(ctx), spec)) });
    },
    async getCompute(req, ctx) {
      return create(GetComputeResponseSchema, { compute: compute(await o.get(owner(ctx), required(req.id, "id"))) });
    },
    async listComputes(req, ctx) {
      if (req.pageSize > MAX_PAGE) throw new PyfleetError("invalid_argument", `page_size must be at most ${MAX_PAGE} (got ${req.pageSize})`);
      const all = await o.list(owner(ctx), { provider: req.provider, statuses: req.statuses, labels: req.labels });
      let start = 0;
      if (req.pageToken) {
        const after = Buffer.from(req.pageToken, "base64url").toString("utf8");
        start = all.findIndex((c) => c.id === after) + 1;
        if (start === 0) throw new PyfleetError("invalid_argument", "page_token is not valid; list from the start");
      }
      const size = req.pageSize || 100;
      const page = all.slice(start, start + size);
      const more = start + size < all.length;
      return create(ListComputesResponseSchema, {
        computes: page.map(compute),
        nextPageToken: more && page.length > 0 ? Buffer.from(page.at(-1)!.id).toString("base64url") : "",
      });
    },
    async stopCompute(req, ctx) {
      return create(StopComputeResponseSchema, { compute: compute(await o.stop(owner(ctx), required(req.id, "id"))) });
    },
    async startCompute(req, ctx) {
      return create(StartComputeResponseSchema, { compute: compute(await o.start(owner(ctx), required(req.id, "id"))) });
    },
    async terminateCompute(req, ctx) {
      return create(TerminateComputeResponseSchema, { compute: compute(await o.terminate(owner(ctx), required(req.id, "id"))) });
    },
    async touchCompute(req, ctx) {
      return create(TouchComputeResponseSchema, { compute: compute(await o.touch(owner(ctx), required(req.id, "id"))) });
    },
    async *waitCompute(req, ctx) {
      const timeout = durationMs(req.timeout, "timeout");
      for await (const c of o.wait(owner(ctx), required(req.id, "id"), timeout ?? ctx.timeoutMs(), ctx.signal)) {
        yield create(WaitComputeResponseSchema, { compute: compute(c) });
      }
    },
    async *watchComputes(req, ctx) {
      for await (const change of o.watch(owner(ctx), { provider: req.provider, labels: req.labels }, req.includeInitial, ctx.signal)) {
        yield create(WatchComputesResponseSchema, { compute: compute(change.compute), previousStatus: change.previous });
      }
    },
    async listProviders() {
      return create(ListProvidersResponseSchema, { providers: await o.providerInfo() });
    },
    async listGpuTypes(req) {
      return create(ListGpuTypesResponseSchema, { gpuTypes: await o.gpuTypes(req.provider) });
    },
    async runJob(req, ctx) {
      const timeoutMs = durationMs(req.timeout, "timeout");
      const job = await o.runJob(owner(ctx), {
        provider: req.provider,
        endpoint: required(req.endpoint, "endpoint"),
        input: req.input ? toJson(ValueSchema, req.input) : null,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        clientRequestId: req.clientRequestId,
      });
      return create(RunJobResponseSchema, { job: jobToProto(job) });
    },
    async getJob(req, ctx) {
      return create(GetJobResponseSchema, { job: jobToProto(await o.getJob(owner(ctx), required(req.id, "id"))) });
    },
    async cancelJob(req, ctx) {
      return create(CancelJobResponseSchema, { job: jobToProto(await o.cancelJob(owner(ctx), required(req.id, "id"))) });
    },
    async *streamJob(req, ctx) {
      for await (const event of o.streamJob(owner(ctx), required(req.id, "id"), ctx.signal)) {
        yield "job" in event
          ? create(StreamJobResponseSchema, { event: { case: "job", value: jobToProto(event.job) } })
          : create(StreamJobResponseSchema, { event: { case: "output", value: toValue(event.output) } });
      }
    },
  };
}
