import { z } from "zod";
import { computeDefaults as d } from "../config/defaults.js";

const int = (min: number) => z.number().int().min(min);
const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be 1-63 lowercase letters, digits, '-' or '_'");
const budget = z.object({
  maxComputes: int(0).optional().describe("Live computes at once (stopped ones do not count)."),
  maxCostPerHour: z.number().min(0).optional().describe("US dollars per hour across live computes, by their price estimates."),
}).strict();

const labelMap = z.record(z.string(), z.string());
/** A Kubernetes toleration, as in a pod spec. */
const toleration = z.object({
  key: z.string().optional().describe("The taint key the toleration matches."),
  operator: z.enum(["Exists", "Equal"]).optional().describe("Exists or Equal."),
  value: z.string().optional().describe("The taint value (with Equal)."),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional().describe("NoSchedule, PreferNoSchedule or NoExecute."),
  tolerationSeconds: z.number().int().optional().describe("With NoExecute: how long the pod stays bound after the taint appears."),
}).strict();
/** A RunJob endpoint of the Kubernetes provider: the Job template it runs. */
const k8sJobTemplate = z.object({
  image: z.string().min(1).describe("The Job's container image."),
  command: z.array(z.string()).default([]).describe("The container's command; default the image's."),
  env: z.record(z.string(), z.string()).default({}).describe("Environment variables of the Job's container."),
  gpu: z.string().default("").describe("A GPU alias the Job's pod asks for; empty: none."),
  gpuCount: int(0).default(0).describe("GPUs the Job's pod asks for."),
}).strict();

/** A provider of the server's config. */
export const providerConfigSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("mock").describe("mock: simulated machines and jobs in memory, for tests and trying the API."), name: name.default("mock").describe("The provider's name in specs and listings.") }).strict(),
  z.object({
    kind: z.literal("local").describe("local: machines are process groups on this host; worker groups dial the listener directly."),
    name: name.default("local").describe("The provider's name in specs and listings."),
    python: z.string().min(1).optional().describe("The Python worker groups run with. Default: the pools' default (PYFLEET_PYTHON, else python3)."),
  }).strict(),
  z.object({
    kind: z.literal("runpod").describe("runpod: pods through RunPod's REST API, jobs through its serverless API."),
    name: name.default("runpod").describe("The provider's name in specs and listings."),
    apiKey: z.string().min(1).optional().describe("The RunPod API key. Default: the RUNPOD_API_KEY environment variable."),
    restUrl: z.string().url().default(d.runpodRestUrl).describe("RunPod's REST API (pods)."),
    serverlessUrl: z.string().url().default(d.runpodServerlessUrl).describe("RunPod's serverless API (jobs)."),
    logsUrl: z.string().url().default(d.runpodLogsUrl).describe("RunPod's REST API v2, which streams pod logs (WatchComputeLogs)."),
    proxyUrl: z.string().default(d.runpodProxyUrl).describe("How a pod's HTTP port is reached; {id} and {port} are replaced."),
    probePorts: z.boolean().default(true).describe("A running pod counts as ready once its ports answer."),
    retries: int(0).default(d.providerRetries).describe("Retries of 429, 5xx, timeouts and network errors (and malformed answers) before giving up."),
    minBackoffMs: int(0).default(d.providerMinBackoffMs).describe("First retry delay in milliseconds, doubling with jitter."),
    maxBackoffMs: int(0).default(d.providerMaxBackoffMs).describe("Longest retry delay in milliseconds."),
    timeoutMs: int(1).default(d.providerTimeoutMs).describe("Per request attempt, in milliseconds."),
    streamPollMs: int(1).default(d.runpodStreamPollMs).describe("How often a streamed job is polled, in milliseconds."),
  }).strict(),
  z.object({
    kind: z.literal("kubernetes").describe("kubernetes: a compute is a Pod, a worker group a Deployment, a job a batch/v1 Job (docs/kubernetes.md)."),
    name: name.default("kubernetes").describe("The provider's name; its objects carry pyfleet.dev/provider=<name>."),
    kubeconfig: z.string().min(1).optional().describe("A kubeconfig file. Default: in-cluster when run in a pod, else KUBECONFIG or ~/.kube/config."),
    context: z.string().min(1).optional().describe("A context of the kubeconfig. Default: its current context."),
    namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a Kubernetes namespace name").optional().describe("Where computes, worker groups and jobs go. Default: the pod's, the context's, or \"default\"."),
    gpuResource: z.string().min(1).default(d.k8sGpuResource).describe("The extended resource GPUs are requested as."),
    gpuProductLabel: z.string().min(1).default(d.k8sGpuProductLabel).describe("The node label a GPU alias selects on (GPU Feature Discovery's)."),
    gpuProducts: labelMap.default({}).describe("GPU alias -> the product label's value, where the cluster's naming differs from GFD's."),
    nodeSelector: labelMap.default({}).describe("Added to every pod's nodeSelector."),
    tolerations: z.array(toleration).default([]).describe("Added to every pod's tolerations."),
    spot: z.object({ nodeSelector: labelMap.default({}).describe("Added to spot pods' nodeSelector."), tolerations: z.array(toleration).default([]).describe("Added to spot pods' tolerations.") }).strict().optional().describe("How spot (interruptible) computes are placed; spot is refused when unset."),
    storageClass: z.string().min(1).optional().describe("The StorageClass of new per-compute volumes (PVCs). Default: the cluster's default."),
    workerImage: z.string().min(1).default(d.k8sWorkerImage).describe("The image of worker-group pods whose spec names none."),
    serverUrl: z.string().url().optional().describe("The URL worker-group pods dial (e.g. the server's in-cluster Service). Default: publicUrl."),
    jobs: z.record(z.string(), k8sJobTemplate).default({}).describe("RunJob endpoints: name -> the Job they run (the input in PYFLEET_JOB_INPUT)."),
    jobTtlSeconds: int(0).default(d.k8sJobTtlSeconds).describe("How long finished Jobs stay for GetJob, in seconds."),
    probePorts: z.boolean().default(false).describe("Ready also means the first port answers (a readiness probe)."),
    retries: int(0).default(d.providerRetries).describe("Retries of 429, 5xx, timeouts and network errors (and malformed answers) before giving up."),
    minBackoffMs: int(0).default(d.providerMinBackoffMs).describe("First retry delay in milliseconds, doubling with jitter."),
    maxBackoffMs: int(0).default(d.providerMaxBackoffMs).describe("Longest retry delay in milliseconds."),
    timeoutMs: int(1).default(d.providerTimeoutMs).describe("Per request attempt, in milliseconds."),
  }).strict(),
  z.object({
    kind: z.literal("remote").describe("remote: any ProviderService endpoint (see pyfleet-conformance provider)."),
    name: name.describe("The provider's name in specs and listings."),
    url: z.string().url().describe("A ProviderService endpoint, e.g. https://provider.example.com."),
    apiKey: z.string().min(1).optional().describe("Sent as Authorization: Bearer."),
    timeoutMs: int(1).default(d.providerTimeoutMs).describe("Per request, in milliseconds."),
    probePorts: z.boolean().default(false).describe("A running machine counts as ready once its ports answer."),
  }).strict(),
]);

export const computeConfigSchema = z.object({
  providers: z.array(providerConfigSchema).default([{ kind: "mock", name: "mock" }, { kind: "local", name: "local" }]).describe("The providers, each { kind, name, ... }; names are unique. Default: mock and local."),
  defaultProvider: z.string().default(d.defaultProvider).describe("The provider a spec that names none uses."),
  pollIntervalMs: int(1).default(d.pollIntervalMs).describe("How often a compute on its way to a stable state is polled, in milliseconds."),
  idleSweepMs: int(1).default(d.idleSweepMs).describe("How often idle computes (past their idleTtl) are looked for, in milliseconds."),
  reaperIntervalMs: int(0).default(d.reaperIntervalMs).describe("How often machines pyfleet made but no longer tracks are terminated, in milliseconds; 0 = never."),
  waitTimeoutMs: int(1).default(d.waitTimeoutMs).describe("The longest WaitCompute waits when the caller sets no deadline, in milliseconds."),
  budgets: z.record(z.string(), budget).default({}).describe("Per tenant (API key name; \"\" when auth is off): a spawn past its budget is RESOURCE_EXHAUSTED."),
  defaultBudget: budget.optional().describe("The budget of tenants without an entry in budgets."),
}).strict();

export type ProviderConfig = z.output<typeof providerConfigSchema>;
export type ComputeConfig = z.output<typeof computeConfigSchema>;
export type ComputeConfigInput = z.input<typeof computeConfigSchema>;
