import { z } from "zod";
import { computeDefaults as d } from "../config/defaults.js";

const int = (min: number) => z.number().int().min(min);
const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be 1-63 lowercase letters, digits, '-' or '_'");
const budget = z.object({
  /** Computes running at once (stopped ones do not count). */
  maxComputes: int(0).optional(),
  /** US dollars per hour across running computes. */
  maxCostPerHour: z.number().min(0).optional(),
}).strict();

const labelMap = z.record(z.string(), z.string());
/** A Kubernetes toleration, as in a pod spec. */
const toleration = z.object({
  key: z.string().optional(),
  operator: z.enum(["Exists", "Equal"]).optional(),
  value: z.string().optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
  tolerationSeconds: z.number().int().optional(),
}).strict();
/** A RunJob endpoint of the Kubernetes provider: the Job template it runs. */
const k8sJobTemplate = z.object({
  image: z.string().min(1),
  command: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  gpu: z.string().default(""),
  gpuCount: int(0).default(0),
}).strict();

/** A provider of the server's config. */
export const providerConfigSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("mock"), name: name.default("mock") }).strict(),
  z.object({
    kind: z.literal("local"),
    name: name.default("local"),
    /** The Python worker groups run with; default the pools' default. */
    python: z.string().min(1).optional(),
  }).strict(),
  z.object({
    kind: z.literal("runpod"),
    name: name.default("runpod"),
    /** Default: the RUNPOD_API_KEY environment variable. */
    apiKey: z.string().min(1).optional(),
    restUrl: z.string().url().default(d.runpodRestUrl),
    serverlessUrl: z.string().url().default(d.runpodServerlessUrl),
    proxyUrl: z.string().default(d.runpodProxyUrl),
    probePorts: z.boolean().default(true),
    retries: int(0).default(d.providerRetries),
    minBackoffMs: int(0).default(d.providerMinBackoffMs),
    maxBackoffMs: int(0).default(d.providerMaxBackoffMs),
    timeoutMs: int(1).default(d.providerTimeoutMs),
    streamPollMs: int(1).default(d.runpodStreamPollMs),
  }).strict(),
  z.object({
    kind: z.literal("kubernetes"),
    name: name.default("kubernetes"),
    /** A kubeconfig file; default: in-cluster when run in a pod, else KUBECONFIG or ~/.kube/config. */
    kubeconfig: z.string().min(1).optional(),
    /** A context of the kubeconfig; default its current context. */
    context: z.string().min(1).optional(),
    /** Where pods go; default: the in-cluster namespace, the context's, or "default". */
    namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a Kubernetes namespace name").optional(),
    gpuResource: z.string().min(1).default(d.k8sGpuResource),
    gpuProductLabel: z.string().min(1).default(d.k8sGpuProductLabel),
    /** GPU alias -> the product label's value, where the cluster's differs from GFD's naming. */
    gpuProducts: labelMap.default({}),
    /** Added to every pod. */
    nodeSelector: labelMap.default({}),
    tolerations: z.array(toleration).default([]),
    /** How a spot (interruptible) compute is placed; spot is refused when unset. */
    spot: z.object({ nodeSelector: labelMap.default({}), tolerations: z.array(toleration).default([]) }).strict().optional(),
    /** For new per-compute volumes; default the cluster's default StorageClass. */
    storageClass: z.string().min(1).optional(),
    /** The image of worker-group pods whose spec names none. */
    workerImage: z.string().min(1).default(d.k8sWorkerImage),
    /** The URL worker pods dial; default the server's own. */
    serverUrl: z.string().url().optional(),
    /** RunJob endpoints: name -> the Job they run (input in PYFLEET_JOB_INPUT). */
    jobs: z.record(z.string(), k8sJobTemplate).default({}),
    jobTtlSeconds: int(0).default(d.k8sJobTtlSeconds),
    probePorts: z.boolean().default(false),
    retries: int(0).default(d.providerRetries),
    minBackoffMs: int(0).default(d.providerMinBackoffMs),
    maxBackoffMs: int(0).default(d.providerMaxBackoffMs),
    timeoutMs: int(1).default(d.providerTimeoutMs),
  }).strict(),
  z.object({
    kind: z.literal("remote"),
    name,
    /** A ProviderService endpoint, e.g. https://provider.example.com */
    url: z.string().url(),
    apiKey: z.string().min(1).optional(),
    timeoutMs: int(1).default(d.providerTimeoutMs),
    probePorts: z.boolean().default(false),
  }).strict(),
]);

export const computeConfigSchema = z.object({
  providers: z.array(providerConfigSchema).default([{ kind: "mock", name: "mock" }, { kind: "local", name: "local" }]),
  defaultProvider: z.string().default(d.defaultProvider),
  pollIntervalMs: int(1).default(d.pollIntervalMs),
  idleSweepMs: int(1).default(d.idleSweepMs),
  reaperIntervalMs: int(0).default(d.reaperIntervalMs),
  waitTimeoutMs: int(1).default(d.waitTimeoutMs),
  /** Per tenant (API key name; "" when auth is off). */
  budgets: z.record(z.string(), budget).default({}),
  /** For tenants without their own entry. */
  defaultBudget: budget.optional(),
}).strict();

export type ProviderConfig = z.output<typeof providerConfigSchema>;
export type ComputeConfig = z.output<typeof computeConfigSchema>;
export type ComputeConfigInput = z.input<typeof computeConfigSchema>;
