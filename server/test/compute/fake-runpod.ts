import { EventEmitter, once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { onTestFinished } from "vitest";

/** A request the fake received. */
export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  authorization: string | undefined;
}

/** A scripted answer: an HTTP status with a body, malformed JSON, or no answer at all. */
export type Fault = { status: number; body?: unknown; headers?: Record<string, string> } | "malformed" | "hang";

/** What to do after a fault: "hang-after-create" creates the pod, then never answers. */
type Script = { method: string; path: RegExp; faults: (Fault | "create-then-hang")[] };

interface FakePod {
  id: string;
  name: string;
  image: string;
  desiredStatus: "RUNNING" | "EXITED" | "TERMINATED";
  costPerHr: string;
  gpu: { id: string; count: number; displayName: string } | null;
  interruptible: boolean;
  env: Record<string, string>;
  ports: string[];
  portMappings: Record<string, number>;
  publicIp: string | null;
  lastStartedAt: string | null;
  machine: { dataCenterId: string };
  gets: number;
}

/** A line of a pod's log, as the v2 API sends it. */
export interface PodLogLine {
  source: "container" | "system";
  line: string;
  /** RFC 3339. */
  ts: string;
}

interface FakeJob {
  id: string;
  endpoint: string;
  input: unknown;
  status: string;
  polls: number;
}

/**
 * A local stand-in for RunPod's REST (pods) and serverless (jobs) APIs that
 * answers as the documentation describes, with faults scripted per request.
 */
export class FakeRunPod {
  readonly requests: SeenRequest[] = [];
  readonly pods = new Map<string, FakePod>();
  readonly jobs = new Map<string, FakeJob>();
  /** Emits "request" with each SeenRequest as it arrives. */
  readonly events = new EventEmitter();
  private readonly scripts: Script[] = [];
  private readonly hung: http.ServerResponse[] = [];
  private readonly podLogs = new Map<string, PodLogLine[]>();
  private readonly logStreams: { pod: string; res: http.ServerResponse }[] = [];
  private seq = 0;

  private constructor(private readonly server: http.Server, readonly apiKey: string) {}

  static async start(apiKey = "rp_test_key_0123456789"): Promise<FakeRunPod> {
    let fake: FakeRunPod | undefined;
    const server = http.createServer((req, res) => void fake!.handle(req, res));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    fake = new FakeRunPod(server, apiKey);
    // Inside a test it closes itself; elsewhere (the chaos scenarios) the caller closes it.
    try {
      onTestFinished(() => fake!.close());
    } catch {
      // not running in a test
    }
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get restUrl(): string {
    return `${this.url}/v1`;
  }

  get serverlessUrl(): string {
    return `${this.url}/v2`;
  }

  /** The REST API v2 (pod logs). */
  get logsUrl(): string {
    return `${this.url}/v2`;
  }

  /** Adds lines to a pod's log; open log streams get them at once. */
  writePodLog(id: string, lines: PodLogLine[]): void {
    const log = this.podLogs.get(id) ?? [];
    this.podLogs.set(id, log);
    log.push(...lines);
    for (const stream of this.logStreams.filter((s) => s.pod === id)) for (const l of lines) this.sendLogEvent(stream.res, l);
  }

  /** The next requests matching method and path get these answers, in order. */
  script(method: string, path: RegExp, faults: (Fault | "create-then-hang")[]): void {
    this.scripts.push({ method, path, faults: [...faults] });
  }

  /** Live (not deleted) pods. */
  livePods(): FakePod[] {
    return [...this.pods.values()].filter((p) => p.desiredStatus !== "TERMINATED");
  }

  async close(): Promise<void> {
    for (const res of this.hung.splice(0)) res.destroy();
    for (const s of this.logStreams.splice(0)) s.res.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const path = (req.url ?? "").split("?")[0]!;
    const seen: SeenRequest = { method: req.method ?? "", path, query: new URL(req.url ?? "/", "http://fake").searchParams, body: raw ? JSON.parse(raw) : undefined, authorization: req.headers.authorization };
    this.requests.push(seen);
    this.events.emit("request", seen);
    const script = this.scripts.find((s) => s.method === seen.method && s.path.test(path) && s.faults.length > 0);
    const fault = script?.faults.shift();
    if (fault === "hang") {
      this.hung.push(res);
      return;
    }
    if (fault === "malformed") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"id": "oops",');
      return;
    }
    if (fault === "create-then-hang") {
      this.createPod(seen.body as Record<string, unknown>);
      this.hung.push(res);
      return;
    }
    if (fault) {
      res.writeHead(fault.status, { "content-type": "application/json", ...fault.headers }).end(JSON.stringify(fault.body ?? { error: `status ${fault.status}` }));
      return;
    }
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) {
      this.json(res, 401, { error: "Unauthorized: invalid API key" });
      return;
    }
    this.route(seen, res);
  }

  private route(r: SeenRequest, res: http.ServerResponse) {
    let m: RegExpMatchArray | null;
    if (r.method === "POST" && r.path === "/v1/pods") return this.json(res, 201, this.show(this.createPod(r.body as Record<string, unknown>)));
    if (r.method === "GET" && r.path === "/v1/pods") return this.json(res, 200, this.livePods().map((p) => this.show(p)));
    if ((m = r.path.match(/^\/v1\/pods\/([^/]+)(\/stop|\/start)?$/))) {
      const pod = this.pods.get(m[1]!);
      if (!pod || pod.desiredStatus === "TERMINATED") return this.json(res, 404, { error: `pod ${m[1]} not found` });
      if (r.method === "GET" && !m[2]) {
        if (++pod.gets >= 1 && pod.desiredStatus === "RUNNING" && !pod.lastStartedAt) this.startPod(pod);
        return this.json(res, 200, this.show(pod));
      }
      if (r.method === "POST" && m[2] === "/stop") {
        pod.desiredStatus = "EXITED";
        return this.json(res, 200, this.show(pod));
      }
      if (r.method === "POST" && m[2] === "/start") {
        this.startPod(pod);
        return this.json(res, 200, this.show(pod));
      }
      if (r.method === "DELETE" && !m[2]) {
        pod.desiredStatus = "TERMINATED";
        res.writeHead(204).end();
        return;
      }
    }
    if (r.method === "GET" && (m = r.path.match(/^\/v2\/pods\/([^/]+)\/logs$/))) {
      // As documented: Server-Sent Events of {source, line, ts}, the newest `tail` (default 100) first, then live lines; it never ends by itself.
      const pod = this.pods.get(m[1]!);
      if (!pod || pod.desiredStatus === "TERMINATED") return this.json(res, 404, { error: `pod ${m[1]} not found` });
      const tail = Number(r.query.get("tail") ?? 100);
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.write(": connected\n\n");
      const log = this.podLogs.get(pod.id) ?? [];
      for (const l of tail > 0 ? log.slice(-tail) : []) this.sendLogEvent(res, l);
      this.logStreams.push({ pod: pod.id, res });
      res.on("close", () => this.logStreams.splice(this.logStreams.findIndex((s) => s.res === res), 1));
      return;
    }
    if (r.method === "POST" && (m = r.path.match(/^\/v2\/([^/]+)\/run$/))) {
      const id = `job-${++this.seq}`;
      this.jobs.set(id, { id, endpoint: m[1]!, input: (r.body as { input?: unknown }).input, status: "IN_QUEUE", polls: 0 });
      return this.json(res, 200, { id, status: "IN_QUEUE" });
    }
    if ((m = r.path.match(/^\/v2\/([^/]+)\/(status|cancel|stream)\/([^/]+)$/))) {
      const job = this.jobs.get(m[3]!);
      if (!job || job.endpoint !== m[1]) return this.json(res, 404, { error: "job not found" });
      if (m[2] === "cancel") {
        job.status = "CANCELLED";
        return this.json(res, 200, { id: job.id, status: job.status });
      }
      job.polls++;
      if (job.status === "IN_QUEUE") job.status = "IN_PROGRESS";
      else if (job.status === "IN_PROGRESS") job.status = "COMPLETED";
      const output = { echo: job.input };
      if (m[2] === "stream") {
        return this.json(res, 200, { status: job.status, stream: job.status === "IN_PROGRESS" ? [{ output: { part: job.polls } }] : [] });
      }
      return this.json(res, 200, { id: job.id, status: job.status, ...(job.status === "COMPLETED" ? { output } : {}) });
    }
    this.json(res, 404, { error: `no route ${r.method} ${r.path}` });
  }

  private sendLogEvent(res: http.ServerResponse, l: PodLogLine) {
    res.write(`id: ${l.ts}\ndata: ${JSON.stringify({ source: l.source, line: l.line, ts: l.ts })}\n\n`);
  }

  private createPod(body: Record<string, unknown>): FakePod {
    const id = `pod${(++this.seq).toString(36)}xyz`;
    const gpuIds = body.gpuTypeIds as string[] | undefined;
    const pod: FakePod = {
      id,
      name: String(body.name ?? ""),
      image: String(body.imageName ?? ""),
      desiredStatus: "RUNNING",
      costPerHr: gpuIds ? "0.74" : "0.1",
      gpu: gpuIds ? { id: gpuIds[0]!, count: Number(body.gpuCount ?? 1), displayName: gpuIds[0]! } : null,
      interruptible: Boolean(body.interruptible),
      env: (body.env as Record<string, string>) ?? {},
      ports: (body.ports as string[]) ?? [],
      portMappings: {},
      publicIp: null,
      lastStartedAt: null,
      machine: { dataCenterId: ((body.dataCenterIds as string[]) ?? ["EU-RO-1"])[0]! },
      gets: 0,
    };
    this.pods.set(id, pod);
    return pod;
  }

  private startPod(pod: FakePod) {
    pod.desiredStatus = "RUNNING";
    pod.publicIp = "203.0.113.10";
    pod.lastStartedAt = new Date().toISOString();
    pod.portMappings = Object.fromEntries(pod.ports.filter((p) => p.endsWith("/tcp")).map((p, i) => [p.split("/")[0]!, 40_000 + i]));
  }

  private show(pod: FakePod) {
    const { gets: _gets, ...rest } = pod;
    return rest;
  }

  private json(res: http.ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  }
}
