import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { timestampFromDate, ValueSchema } from "@bufbuild/protobuf/wkt";
import type { V1Deployment, V1Job, V1ObjectMeta, V1Pod } from "@kubernetes/client-node";
import { type Job, JobSchema, JobStatus, type Machine, MachineSchema, MachineStatus } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import {
  CANCELLED_ANNOTATION, GPU_ANNOTATION, JOB_INPUT_ENV, LABELS_ANNOTATION, NAME_ANNOTATION, PORTS_ANNOTATION, SPOT_ANNOTATION,
} from "./objects.js";

function labelsOf(meta: V1ObjectMeta | undefined): Record<string, string> {
  try {
    const parsed = JSON.parse(meta?.annotations?.[LABELS_ANNOTATION] ?? "{}") as unknown;
    return parsed && typeof parsed === "object" ? parsed as Record<string, string> : {};
  } catch {
    return {};
  }
}

function created(meta: V1ObjectMeta | undefined) {
  // The typed API gives Dates, the watch gives strings.
  const t = meta?.creationTimestamp as Date | string | undefined;
  return t ? { createdAt: timestampFromDate(new Date(t)) } : {};
}

function endpoints(meta: V1ObjectMeta | undefined, namespace: string) {
  let ports: { port: number; protocol: string }[] = [];
  try {
    ports = JSON.parse(meta?.annotations?.[PORTS_ANNOTATION] ?? "[]") as typeof ports;
  } catch {
    ports = [];
  }
  // The Service is named like the pod; its cluster DNS name works from any pod, the server's included.
  const host = `${meta?.name ?? ""}.${namespace}.svc`;
  return ports.map((p) => p.protocol === "tcp"
    ? { port: p.port, protocol: "tcp", host, publicPort: p.port }
    : { port: p.port, protocol: "http", url: `http://${host}:${p.port}` });
}

function common(meta: V1ObjectMeta | undefined, image: string | undefined, namespace: string) {
  return {
    id: meta?.name ?? "",
    name: meta?.annotations?.[NAME_ANNOTATION] ?? "",
    gpuType: meta?.annotations?.[GPU_ANNOTATION] ?? "",
    labels: labelsOf(meta),
    spot: meta?.annotations?.[SPOT_ANNOTATION] === "true",
    image: image ?? "",
    endpoints: endpoints(meta, namespace),
    ...created(meta),
  };
}

/** Why a pod is not running yet: the scheduler's verdict, or a container's waiting reason. */
export function pendingReason(pod: V1Pod): string {
  const scheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False") return `unschedulable: ${scheduled.message || scheduled.reason || "no node fits"}`;
  for (const c of pod.status?.containerStatuses ?? []) {
    const w = c.state?.waiting;
    if (w?.reason) return `${w.reason}${w.message ? `: ${w.message}` : ""}`;
  }
  if (!pod.spec?.nodeName) return "waiting for the scheduler";
  return `starting on node ${pod.spec.nodeName}`;
}

function gpuCount(pod: V1Pod | undefined, resource: string): number {
  const n = pod?.spec?.containers?.[0]?.resources?.limits?.[resource];
  return n ? Number(n) || 0 : 0;
}

/** A compute's pod as a Machine. */
export function podMachine(pod: V1Pod, namespace: string, gpuResource: string): Machine {
  const phase = pod.status?.phase ?? "Pending";
  const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  let status: MachineStatus;
  let message: string;
  if (pod.metadata?.deletionTimestamp) {
    status = MachineStatus.STOPPING;
    message = "the pod is being deleted";
  } else if (phase === "Running" && ready) {
    status = MachineStatus.RUNNING;
    message = `pod IP ${pod.status?.podIP ?? "?"} on node ${pod.spec?.nodeName ?? "?"}`;
  } else if (phase === "Running") {
    status = MachineStatus.PROVISIONING;
    message = `running, not ready: ${pendingReason(pod)}`;
  } else if (phase === "Succeeded") {
    status = MachineStatus.TERMINATED;
    message = "the pod's containers exited successfully";
  } else if (phase === "Failed") {
    status = MachineStatus.FAILED;
    const exited = pod.status?.containerStatuses?.[0]?.state?.terminated;
    message = pod.status?.reason === "Evicted" ? `evicted: ${pod.status.message ?? ""}`.trim()
      : exited ? `exited with code ${exited.exitCode}${exited.reason ? ` (${exited.reason})` : ""}${exited.message ? `: ${exited.message}` : ""}`
      : `failed: ${pod.status?.reason ?? ""} ${pod.status?.message ?? ""}`.trim();
  } else if (phase === "Unknown") {
    status = MachineStatus.PROVISIONING;
    message = "the pod's node stopped reporting";
  } else {
    status = MachineStatus.PROVISIONING;
    message = pendingReason(pod);
  }
  return create(MachineSchema, {
    ...common(pod.metadata, pod.spec?.containers?.[0]?.image, namespace),
    status,
    message,
    gpuCount: gpuCount(pod, gpuResource),
    region: pod.spec?.nodeName ?? "",
  });
}

/** A worker group's Deployment as a Machine; `pods` are its pods, for the scheduler's reason. */
export function deploymentMachine(d: V1Deployment, pods: V1Pod[], namespace: string, gpuResource: string): Machine {
  const want = d.spec?.replicas ?? 0;
  const readyN = d.status?.readyReplicas ?? 0;
  const stuck = pods.find((p) => p.status?.phase === "Pending");
  const status = d.metadata?.deletionTimestamp ? MachineStatus.STOPPING : readyN > 0 ? MachineStatus.RUNNING : MachineStatus.PROVISIONING;
  const message = `${readyN}/${want} worker pods ready${stuck ? `; ${stuck.metadata?.name}: ${pendingReason(stuck)}` : ""}`;
  return create(MachineSchema, {
    ...common(d.metadata, d.spec?.template?.spec?.containers?.[0]?.image, namespace),
    endpoints: [],
    status,
    message,
    gpuCount: gpuCount(d.spec?.template as V1Pod | undefined, gpuResource),
  });
}

/** A batch/v1 Job as a pyfleet Job; `output` is what its pod printed last, when known. */
export function jobOf(job: V1Job, output?: JsonValue): Job {
  const cond = (type: string) => job.status?.conditions?.find((c) => c.type === type && c.status === "True");
  const failed = cond("Failed");
  const status = job.metadata?.annotations?.[CANCELLED_ANNOTATION] ? JobStatus.CANCELLED
    : cond("Complete") ? JobStatus.COMPLETED
    : failed ? (failed.reason === "DeadlineExceeded" ? JobStatus.TIMED_OUT : JobStatus.FAILED)
    : (job.status?.active ?? 0) > 0 ? JobStatus.RUNNING
    : JobStatus.QUEUED;
  const inputText = job.spec?.template?.spec?.containers?.[0]?.env?.find((e) => e.name === JOB_INPUT_ENV)?.value;
  let input: JsonValue | undefined;
  try {
    input = inputText === undefined ? undefined : JSON.parse(inputText) as JsonValue;
  } catch {
    input = undefined;
  }
  const finished = (failed ?? cond("Complete"))?.lastTransitionTime as Date | string | undefined;
  return create(JobSchema, {
    id: job.metadata?.name ?? "",
    endpoint: job.metadata?.annotations?.["pyfleet.dev/endpoint"] ?? "",
    status,
    input: input == null ? undefined : fromJson(ValueSchema, input),
    output: output == null || status !== JobStatus.COMPLETED ? undefined : fromJson(ValueSchema, output),
    error: failed ? `${failed.reason ?? "Failed"}: ${failed.message ?? ""}`.trim() : "",
    createdAt: job.metadata?.creationTimestamp ? timestampFromDate(new Date(job.metadata.creationTimestamp as Date | string)) : undefined,
    finishedAt: finished ? timestampFromDate(new Date(finished)) : undefined,
  });
}
