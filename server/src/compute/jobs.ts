import { fromJson } from "@bufbuild/protobuf";
import { durationFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import { type Job, JobStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { PyfleetError } from "../errors.js";
import { newId } from "../ids.js";
import type { ComputeContext, JobStreamEvent, RunJobInput } from "./context.js";
import { toJsonValue } from "./providers/common.js";
import type { JobRecord } from "./store/index.js";

const JOB_DONE = new Set([JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.TIMED_OUT]);

/**
 * Serverless jobs: each is recorded before its provider runs it (a client
 * request id makes a run idempotent) and updated with what the provider
 * reports, until it is done.
 */
export class Jobs {
  constructor(private readonly ctx: ComputeContext) {}

  async run(owner: string, input: RunJobInput): Promise<JobRecord> {
    const ctx = this.ctx;
    ctx.assertOpen();
    const providerName = input.provider || ctx.options.defaultProvider;
    const provider = ctx.provider(providerName);
    if (!input.endpoint) throw new PyfleetError("invalid_argument", "endpoint is required");
    if (!(await provider.capabilities()).jobs) throw new PyfleetError("unimplemented", `provider "${providerName}" does not run jobs`);
    if (input.clientRequestId) {
      const existing = await ctx.store.jobByRequest(owner, input.clientRequestId);
      if (existing) return existing;
    }
    const record: JobRecord = {
      id: newId("job"),
      owner,
      provider: providerName,
      providerJobId: "",
      endpoint: input.endpoint,
      status: JobStatus.QUEUED,
      input: input.input,
      output: null,
      error: "",
      clientRequestId: input.clientRequestId ?? "",
      createdAt: Date.now(),
      finishedAt: undefined,
    };
    const stored = await ctx.store.createJob(record);
    if (stored.id !== record.id) return stored;
    let job: Job;
    try {
      const attributes = { "pyfleet.job": record.id, "pyfleet.provider": providerName, "pyfleet.endpoint": input.endpoint };
      job = await ctx.telemetry.span("pyfleet.compute.job", attributes, () => provider.runJob({
        $typeName: "pyfleet.provider.v1.JobSpec",
        endpoint: input.endpoint,
        input: fromJson(ValueSchema, input.input ?? null),
        requestId: record.id,
        timeout: input.timeoutMs ? durationFromMs(input.timeoutMs) : undefined,
      }));
    } catch (e) {
      record.status = JobStatus.FAILED;
      record.error = e instanceof Error ? e.message : String(e);
      record.finishedAt = Date.now();
      await ctx.store.updateJob(record);
      throw e;
    }
    await this.apply(record, job);
    return record;
  }

  async get(owner: string, id: string): Promise<JobRecord> {
    const record = await this.owned(owner, id);
    if (!JOB_DONE.has(record.status)) await this.apply(record, await this.ctx.provider(record.provider).getJob(record.providerJobId));
    return record;
  }

  async cancel(owner: string, id: string): Promise<JobRecord> {
    const record = await this.owned(owner, id);
    if (!JOB_DONE.has(record.status)) await this.apply(record, await this.ctx.provider(record.provider).cancelJob(record.providerJobId));
    return record;
  }

  async *stream(owner: string, id: string, signal: AbortSignal): AsyncGenerator<JobStreamEvent> {
    const record = await this.owned(owner, id);
    const provider = this.ctx.provider(record.provider);
    if (!(await provider.capabilities()).jobStreaming) throw new PyfleetError("unimplemented", `provider "${record.provider}" cannot stream jobs; poll GetJob instead`);
    for await (const event of provider.streamJob(record.providerJobId, signal)) {
      if ("job" in event) {
        await this.apply(record, event.job);
        yield { job: record };
        return;
      }
      yield event;
    }
  }

  private async owned(owner: string, id: string): Promise<JobRecord> {
    const record = await this.ctx.store.getJob(id);
    if (!record || record.owner !== owner) throw new PyfleetError("not_found", `no job "${id}"`);
    return record;
  }

  private async apply(record: JobRecord, job: Job) {
    record.providerJobId = job.id || record.providerJobId;
    record.status = job.status;
    if (job.output) record.output = toJsonValue(job.output);
    record.error = job.error;
    if (JOB_DONE.has(job.status) && record.finishedAt === undefined) record.finishedAt = Date.now();
    await this.ctx.store.updateJob(record);
  }
}
