import { create, toJson } from "@bufbuild/protobuf";
import { timestampFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
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
  WatchComputeLogsResponseSchema,
  WatchComputesResponseSchema,
} from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { computeDefaults } from "../config/index.js";
import { page } from "../paging.js";
import type { ComputeRecord, JobRecord, Orchestrator } from "../compute/index.js";
import { tenantOf } from "./context.js";
import { toValue } from "./pool-convert.js";
import { durationMs, required, requiredMessage } from "./validate.js";


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
    readyAt: c.readyAt !== undefined ? timestampFromMs(c.readyAt) : undefined,
    lastActiveAt: timestampFromMs(c.lastActiveAt),
    idleExpiresAt: idle !== undefined ? timestampFromMs(idle) : undefined,
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
    output: j.output !== null ? toValue(j.output) : undefined,
    error: j.error,
    owner: j.owner,
    createdAt: timestampFromMs(j.createdAt),
    finishedAt: j.finishedAt !== undefined ? timestampFromMs(j.finishedAt) : undefined,
  });
}

/** Thin ComputeService handlers over the orchestrator. */
export function computeService(o: Orchestrator): Partial<ServiceImpl<typeof ComputeService>> {
  const compute = (c: ComputeRecord) => computeToProto(o, c);
  return {
    async spawnCompute(req, ctx) {
      const spec = requiredMessage(req.spec, "spec");
      durationMs(spec.idleTtl, "spec.idle_ttl");
      return create(SpawnComputeResponseSchema, { compute: compute(await o.spawn(tenantOf(ctx), spec)) });
    },
    async getCompute(req, ctx) {
      return create(GetComputeResponseSchema, { compute: compute(await o.get(tenantOf(ctx), required(req.id, "id"))) });
    },
    async listComputes(req, ctx) {
      const all = await o.list(tenantOf(ctx), { provider: req.provider, statuses: req.statuses, labels: req.labels });
      const { items, nextPageToken } = page(all, req.pageSize, req.pageToken, "compute");
      return create(ListComputesResponseSchema, { computes: items.map(compute), nextPageToken });
    },
    async stopCompute(req, ctx) {
      return create(StopComputeResponseSchema, { compute: compute(await o.stop(tenantOf(ctx), required(req.id, "id"))) });
    },
    async startCompute(req, ctx) {
      return create(StartComputeResponseSchema, { compute: compute(await o.start(tenantOf(ctx), required(req.id, "id"))) });
    },
    async terminateCompute(req, ctx) {
      return create(TerminateComputeResponseSchema, { compute: compute(await o.terminate(tenantOf(ctx), required(req.id, "id"))) });
    },
    async touchCompute(req, ctx) {
      return create(TouchComputeResponseSchema, { compute: compute(await o.touch(tenantOf(ctx), required(req.id, "id"))) });
    },
    async *waitCompute(req, ctx) {
      const timeout = durationMs(req.timeout, "timeout");
      for await (const c of o.wait(tenantOf(ctx), required(req.id, "id"), timeout ?? ctx.timeoutMs(), ctx.signal)) {
        yield create(WaitComputeResponseSchema, { compute: compute(c) });
      }
    },
    async *watchComputes(req, ctx) {
      for await (const change of o.watch(tenantOf(ctx), { provider: req.provider, labels: req.labels }, req.includeInitial, ctx.signal)) {
        yield create(WatchComputesResponseSchema, { compute: compute(change.compute), previousStatus: change.previous });
      }
    },
    async *watchComputeLogs(req, ctx) {
      const options = { follow: req.follow, tail: req.tail ?? computeDefaults.logTail, signal: ctx.signal };
      for await (const lines of o.logs(tenantOf(ctx), required(req.computeId, "compute_id"), options)) {
        yield create(WatchComputeLogsResponseSchema, {
          lines: lines.map((l) => ({ text: l.text, source: l.source, time: l.time !== undefined ? timestampFromMs(l.time) : undefined })),
        });
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
      const job = await o.runJob(tenantOf(ctx), {
        provider: req.provider,
        endpoint: required(req.endpoint, "endpoint"),
        input: req.input ? toJson(ValueSchema, req.input) : null,
        timeoutMs,
        clientRequestId: req.clientRequestId,
      });
      return create(RunJobResponseSchema, { job: jobToProto(job) });
    },
    async getJob(req, ctx) {
      return create(GetJobResponseSchema, { job: jobToProto(await o.getJob(tenantOf(ctx), required(req.id, "id"))) });
    },
    async cancelJob(req, ctx) {
      return create(CancelJobResponseSchema, { job: jobToProto(await o.cancelJob(tenantOf(ctx), required(req.id, "id"))) });
    },
    async *streamJob(req, ctx) {
      for await (const event of o.streamJob(tenantOf(ctx), required(req.id, "id"), ctx.signal)) {
        yield "job" in event
          ? create(StreamJobResponseSchema, { event: { case: "job", value: jobToProto(event.job) } })
          : create(StreamJobResponseSchema, { event: { case: "output", value: toValue(event.output) } });
      }
    },
  };
}
