import { create, fromJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { CancelJobResponseSchema, GetCapabilitiesResponseSchema, GetJobResponseSchema, GetResponseSchema, ListGpuTypesResponseSchema, ListResponseSchema, type ProviderService, ResetResponseSchema, RunJobResponseSchema, SpawnResponseSchema, StartResponseSchema, StopResponseSchema, StreamJobResponseSchema, TerminateResponseSchema } from "@pyfleet/protocol/gen/pyfleet/provider/v1/provider_pb";
import type { Provider } from "../compute/index.js";
import { required, requiredMessage } from "./validate.js";

/** Any built-in provider served as a ProviderService endpoint (to certify it, or to use it remotely). */
export function providerService(provider: Provider, version = "0.1.0"): ServiceImpl<typeof ProviderService> {
  return {
    async getCapabilities() {
      return create(GetCapabilitiesResponseSchema, { name: provider.name, version, capabilities: await provider.capabilities() });
    },
    async spawn(req) {
      return create(SpawnResponseSchema, { machine: await provider.spawn(requiredMessage(req.spec, "spec"), required(req.requestId, "request_id")) });
    },
    async get(req) {
      return create(GetResponseSchema, { machine: await provider.get(required(req.id, "id")) });
    },
    async list(req) {
      return create(ListResponseSchema, { machines: await provider.list({ labels: req.labels, includeTerminated: req.includeTerminated }) });
    },
    async stop(req) {
      return create(StopResponseSchema, { machine: await provider.stop(required(req.id, "id")) });
    },
    async start(req) {
      return create(StartResponseSchema, { machine: await provider.start(required(req.id, "id")) });
    },
    async terminate(req) {
      return create(TerminateResponseSchema, { machine: await provider.terminate(required(req.id, "id")) });
    },
    async listGpuTypes() {
      return create(ListGpuTypesResponseSchema, { gpuTypes: await provider.gpuTypes() });
    },
    async runJob(req) {
      return create(RunJobResponseSchema, { job: await provider.runJob(requiredMessage(req.spec, "spec")) });
    },
    async getJob(req) {
      return create(GetJobResponseSchema, { job: await provider.getJob(required(req.id, "id")) });
    },
    async cancelJob(req) {
      return create(CancelJobResponseSchema, { job: await provider.cancelJob(required(req.id, "id")) });
    },
    async *streamJob(req, ctx) {
      for await (const event of provider.streamJob(required(req.id, "id"), ctx.signal)) {
        yield "job" in event
          ? create(StreamJobResponseSchema, { event: { case: "job", value: event.job } })
          : create(StreamJobResponseSchema, { event: { case: "output", value: fromJson(ValueSchema, event.output) } });
      }
    },
    async reset() {
      await provider.reset();
      return create(ResetResponseSchema);
    },
  };
}
