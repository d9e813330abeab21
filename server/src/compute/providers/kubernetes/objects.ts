import { createHash } from "node:crypto";
import type {
  V1Container, V1Deployment, V1EnvVar, V1Job, V1OwnerReference, V1PersistentVolumeClaim, V1Pod, V1PodSpec, V1Secret, V1Service,
  V1Toleration, V1Volume, V1VolumeMount,
} from "@kubernetes/client-node";
import type { MachineSpec } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import type { GpuType } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { COMPUTE_LABEL, MANAGED_LABEL } from "../../provider.js";

/** What the builders need from the provider's config. */
export interface PlacementConfig {
  provider: string;
  namespace: string;
  gpuResource: string;
  gpuProductLabel: string;
  gpuProducts: Record<string, string>;
  nodeSelector: Record<string, string>;
  tolerations: V1Toleration[];
  spot?: { nodeSelector: Record<string, string>; tolerations: V1Toleration[] } | undefined;
  storageClass?: string | undefined;
  workerImage: string;
  serverUrl?: string | undefined;
}

// Labels select (the watch, List, the reaper); annotations carry what label values cannot hold.
export const PROVIDER_LABEL = "pyfleet.dev/provider";
/** "machine" (a compute's pod), "workers" (a worker group's Deployment and pods) or "job". */
export const ROLE_LABEL = "pyfleet.dev/role";
/** On a compute's pod, selecting it for its Service. */
export const MACHINE_LABEL = "pyfleet.dev/machine";
export const REQUEST_LABEL = "pyfleet.request-id";
export const LABELS_ANNOTATION = "pyfleet.dev/labels";
export const NAME_ANNOTATION = "pyfleet.dev/name";
export const GPU_ANNOTATION = "pyfleet.dev/gpu-type";
export const PORTS_ANNOTATION = "pyfleet.dev/ports";
export const SPOT_ANNOTATION = "pyfleet.dev/spot";
export const CANCELLED_ANNOTATION = "pyfleet.dev/cancelled";
export const JOB_INPUT_ENV = "PYFLEET_JOB_INPUT";
const WORKER_TOKEN_ENV = "PYFLEET_WORKER_TOKEN";
/** The one container of every pod pyfleet makes. */
export const CONTAINER = "main";

/** Object names from an idempotency key: the same key always names the same object. */
export function objectName(prefix: "pf" | "pfw" | "pfj", key: string): string {
  return `${prefix}-${createHash("sha256").update(key).digest("hex").slice(0, 20)}`;
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** pyfleet labels that are also valid Kubernetes labels (the rest live only in the annotation). */
function kubeLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k, v]) => LABEL_KEY.test(k) && k.length <= 253 && LABEL_VALUE.test(v)));
}

/** The GPU product label value GFD sets for a catalog GPU ("NVIDIA H100 80GB HBM3" -> "NVIDIA-H100-80GB-HBM3"). */
function gpuProduct(gpu: GpuType, products: Record<string, string>): string {
  return products[gpu.alias] ?? products[gpu.id] ?? gpu.id.replace(/\s+/g, "-");
}

function baseLabels(cfg: PlacementConfig, role: string, labels: Record<string, string>): Record<string, string> {
  return { ...kubeLabels(labels), [PROVIDER_LABEL]: cfg.provider, [ROLE_LABEL]: role, [MANAGED_LABEL]: "true" };
}

function annotations(spec: MachineSpec, labels: Record<string, string>, gpu: GpuType | undefined): Record<string, string> {
  const out: Record<string, string> = { [LABELS_ANNOTATION]: JSON.stringify(labels) };
  if (spec.name) out[NAME_ANNOTATION] = spec.name;
  if (gpu) out[GPU_ANNOTATION] = gpu.id;
  if (spec.ports.length) out[PORTS_ANNOTATION] = JSON.stringify(spec.ports.map((p) => ({ port: p.port, protocol: p.protocol || "http" })));
  if (spec.spot) out[SPOT_ANNOTATION] = "true";
  return out;
}

/** Node selectors, tolerations, affinity and GPU resources shared by pods, Deployments and Jobs. */
function placement(cfg: PlacementConfig, spec: { gpu?: GpuType | undefined; gpuCount: number; spot: boolean; regions: string[]; containerDiskGb: number }) {
  const nodeSelector: Record<string, string> = { ...cfg.nodeSelector };
  const tolerations: V1Toleration[] = [...cfg.tolerations];
  const limits: Record<string, string> = {};
  const requests: Record<string, string> = {};
  if (spec.gpu) {
    nodeSelector[cfg.gpuProductLabel] = gpuProduct(spec.gpu, cfg.gpuProducts);
    // Extended resources must have requests == limits; setting both says so explicitly.
    limits[cfg.gpuResource] = requests[cfg.gpuResource] = String(spec.gpuCount || 1);
  }
  if (spec.spot && cfg.spot) {
    Object.assign(nodeSelector, cfg.spot.nodeSelector);
    tolerations.push(...cfg.spot.tolerations);
  }
  if (spec.containerDiskGb) requests["ephemeral-storage"] = limits["ephemeral-storage"] = `${spec.containerDiskGb}Gi`;
  const podSpec: Partial<V1PodSpec> = {
    // Computes do not talk to the Kubernetes API: no token in their pods.
    automountServiceAccountToken: false,
    nodeSelector: Object.keys(nodeSelector).length ? nodeSelector : undefined,
    tolerations: tolerations.length ? tolerations : undefined,
    affinity: spec.regions.length ? { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{
      matchExpressions: [{ key: "topology.kubernetes.io/region", operator: "In", values: spec.regions }],
    }] } } } : undefined,
  };
  const resources = Object.keys(limits).length ? { limits, requests } : undefined;
  return { podSpec, resources };
}

/** A list, or undefined for an empty one: the object then leaves the field out (undefined is not written to JSON). */
function nonEmpty<T>(list: T[]): T[] | undefined {
  return list.length > 0 ? list : undefined;
}

function jobAnnotations(endpoint: string, requestId: string): Record<string, string> {
  const out: Record<string, string> = { "pyfleet.dev/endpoint": endpoint };
  if (requestId) out[REQUEST_LABEL] = requestId;
  return out;
}

function env(vars: Record<string, string>): V1EnvVar[] {
  return Object.entries(vars).map(([name, value]) => ({ name, value }));
}

/** A compute's pod, its Service when it exposes ports, and new PVCs for its per-compute volumes. */
export function machineObjects(cfg: PlacementConfig, spec: MachineSpec, requestId: string, gpu: GpuType | undefined) {
  const name = objectName("pf", requestId);
  const labels = { ...spec.labels, [REQUEST_LABEL]: requestId };
  const { podSpec, resources } = placement(cfg, { gpu, gpuCount: spec.gpuCount, spot: spec.spot, regions: spec.regions, containerDiskGb: spec.containerDiskGb });
  const claims: V1PersistentVolumeClaim[] = [];
  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  spec.volumes.forEach((v, i) => {
    const claimName = v.id || `${name}-v${i}`;
    if (!v.id) {
      claims.push({
        apiVersion: "v1", kind: "PersistentVolumeClaim",
        metadata: { name: claimName, namespace: cfg.namespace, labels: baseLabels(cfg, "volume", {}) },
        spec: {
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: `${v.sizeGb || 10}Gi` } },
          storageClassName: cfg.storageClass || undefined,
        },
      });
    }
    volumes.push({ name: `v${i}`, persistentVolumeClaim: { claimName } });
    mounts.push({ name: `v${i}`, mountPath: v.mountPath || "/workspace" });
  });
  const firstPort = spec.ports[0];
  const container: V1Container = {
    name: CONTAINER,
    image: spec.image,
    command: nonEmpty(spec.command),
    env: env(spec.env),
    ports: nonEmpty(spec.ports.map((p) => ({ containerPort: p.port, protocol: "TCP" }))),
    // Ready means the first port answers, so "ready" needs no probe from the server's side.
    readinessProbe: firstPort && { tcpSocket: { port: firstPort.port }, periodSeconds: 5 },
    resources,
    volumeMounts: nonEmpty(mounts),
  };
  const pod: V1Pod = {
    apiVersion: "v1", kind: "Pod",
    metadata: {
      name, namespace: cfg.namespace,
      labels: { ...baseLabels(cfg, "machine", labels), [MACHINE_LABEL]: name },
      annotations: annotations(spec, labels, gpu),
    },
    spec: { ...podSpec, restartPolicy: "Always", containers: [container], volumes: nonEmpty(volumes) },
  };
  const service: V1Service | undefined = spec.ports.length ? {
    apiVersion: "v1", kind: "Service",
    metadata: { name, namespace: cfg.namespace, labels: baseLabels(cfg, "service", {}) },
    spec: {
      selector: { [MACHINE_LABEL]: name },
      ports: spec.ports.map((p) => ({ name: `p${p.port}`, port: p.port, targetPort: p.port, protocol: "TCP" })),
    },
  } : undefined;
  return { pod, service, claims };
}

/** Makes the cluster delete `obj` with its owner (garbage collection). */
export function ownedBy(owner: { apiVersion: string; kind: string; metadata?: { name?: string; uid?: string } }): V1OwnerReference[] {
  return [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata?.name ?? "", uid: owner.metadata?.uid ?? "", blockOwnerDeletion: false }];
}

/** A worker group: a Deployment of N dial-in workers and the Secret holding their token. */
export function workerGroupObjects(cfg: PlacementConfig, spec: MachineSpec, requestId: string, gpu: GpuType | undefined) {
  const workers = spec.workers!;
  const name = objectName("pfw", requestId);
  const labels = { ...spec.labels, [REQUEST_LABEL]: requestId };
  const { podSpec, resources } = placement(cfg, { gpu, gpuCount: spec.gpuCount, spot: spec.spot, regions: spec.regions, containerDiskGb: spec.containerDiskGb });
  const podLabels = { [PROVIDER_LABEL]: cfg.provider, [ROLE_LABEL]: "workers", [MACHINE_LABEL]: name };
  const deployment: V1Deployment = {
    apiVersion: "apps/v1", kind: "Deployment",
    metadata: { name, namespace: cfg.namespace, labels: baseLabels(cfg, "workers", labels), annotations: annotations(spec, labels, gpu) },
    spec: {
      replicas: Math.max(1, workers.count || 1),
      selector: { matchLabels: { [MACHINE_LABEL]: name } },
      template: {
        metadata: { labels: podLabels },
        spec: {
          ...podSpec,
          containers: [{
            name: CONTAINER,
            image: spec.image || cfg.workerImage,
            // $(VAR) is expanded by the kubelet, so the token stays out of the object.
            command: ["python", "-m", "pyfleet_bridge.worker", "--adapter", workers.adapter, "--connect", cfg.serverUrl ?? workers.serverUrl,
              "--token", `$(${WORKER_TOKEN_ENV})`, "--pool", workers.pool],
            env: [...env(spec.env), { name: WORKER_TOKEN_ENV, valueFrom: { secretKeyRef: { name, key: "token" } } }],
            resources,
          }],
        },
      },
    },
  };
  const secret: V1Secret = {
    apiVersion: "v1", kind: "Secret",
    metadata: { name, namespace: cfg.namespace, labels: baseLabels(cfg, "workers", {}) },
    type: "Opaque",
    stringData: { token: workers.token },
  };
  return { deployment, secret };
}

/** A RunJob endpoint's template, from the provider's config. */
export interface JobTemplate {
  image: string;
  command: string[];
  env: Record<string, string>;
  gpu: string;
  gpuCount: number;
}

/** A batch/v1 Job running an endpoint's template once, its input in PYFLEET_JOB_INPUT. */
export function jobObject(cfg: PlacementConfig & { jobTtlSeconds: number }, o: {
  name: string; endpoint: string; template: JobTemplate; gpu: GpuType | undefined; input: string; timeoutS: number; requestId: string;
}): V1Job {
  const { podSpec, resources } = placement(cfg, { gpu: o.gpu, gpuCount: o.template.gpuCount, spot: false, regions: [], containerDiskGb: 0 });
  const labels = { [PROVIDER_LABEL]: cfg.provider, [ROLE_LABEL]: "job", [MANAGED_LABEL]: "true", ...kubeLabels({ "pyfleet.dev/endpoint": o.endpoint }) };
  return {
    apiVersion: "batch/v1", kind: "Job",
    metadata: { name: o.name, namespace: cfg.namespace, labels, annotations: jobAnnotations(o.endpoint, o.requestId) },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: cfg.jobTtlSeconds,
      activeDeadlineSeconds: o.timeoutS || undefined,
      template: {
        metadata: { labels: { [PROVIDER_LABEL]: cfg.provider, [ROLE_LABEL]: "job" } },
        spec: {
          ...podSpec,
          restartPolicy: "Never",
          containers: [{
            name: CONTAINER,
            image: o.template.image,
            command: nonEmpty(o.template.command),
            env: [...env(o.template.env), { name: JOB_INPUT_ENV, value: o.input }],
            resources,
          }],
        },
      },
    },
  };
}
