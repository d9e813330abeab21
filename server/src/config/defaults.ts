/**
 * Every default of the server, in one place, each with its reason.
 * docs/configuration.md is checked against this file by a test.
 */
export const defaults = {
  /** Loopback only: a server with no API keys must not be reachable from other machines. */
  host: "127.0.0.1",
  /** The port `npm start` serves on unless PYFLEET_PORT says otherwise. */
  port: 8080,
  /** JSON lines at info: the URL, pool and provider events, warnings; not per-request noise. */
  logLevel: "info",
  /** Time for in-flight calls to finish on SIGTERM before workers are stopped. */
  shutdownGraceMs: 10_000,
  /** Connections that send nothing for this long are closed (frees sockets of vanished clients). */
  idleTimeoutMs: 120_000,
  /** 4 MiB, gRPC's customary message limit: large enough for real payloads, small enough to bound memory. */
  maxMessageBytes: 4 * 1024 * 1024,
  /** Unanswered ExecuteMany requests read per stream: deep enough to keep workers busy, bounded in memory. */
  maxPipelined: 256,
  /** Relative to the working directory: SQLite files of the compute store live here. */
  dataDir: ".pyfleet",
  /** The pool requests use when they name none. */
  defaultPool: "default",
} as const;

/** Every default of the log hub (WatchLogs), each with its reason. */
export const logsDefaults = {
  /** The newest 10,000 lines across pools: enough to look back at a failure, small in memory. */
  bufferRecords: 10_000,
  /** 16 MiB of held messages at most, whatever their count: chatty tools cannot grow the server. */
  bufferBytes: 16 * 1024 * 1024,
  /** A following reader may be 1,000 records behind before it loses the oldest (and is told how many). */
  readerQueue: 1_000,
  /** 16 KiB per message: a runaway line (a dumped tensor) is cut, not held whole. */
  maxMessageBytes: 16 * 1024,
} as const;

/** Every default of a pool, each with its reason. */
export const poolDefaults = {
  /** The adapter `npm start` serves: the sample tools. */
  adapter: "pyfleet_bridge.samples:SampleAdapter",
  /** One worker per core of this 2-core class of machine. */
  size: 2,
  /** One call at a time per worker: the safe choice for sync Python code. */
  concurrency: 1,
  /** Python import is CPU-bound; starting more at once than cores only thrashes. */
  startupConcurrency: 4,
  /**
   * Fork workers from a template that imported the adapter once when that is
   * safe (Linux, and the import started no threads and no CUDA), else spawn a
   * process per worker. `npm run bench`: 16 sample workers ready ~5x sooner,
   * 8 workers of a 200 MB adapter in ~7x less memory.
   */
  startMode: "auto",
  /** Generous for heavy imports (torch takes seconds); a stuck start is killed after this. */
  startupTimeoutMs: 60_000,
  /** Bounded memory under overload: the 1001st waiting call gets RESOURCE_EXHAUSTED at once. */
  queueMaxSize: 1000,
  /** A call without a deadline still gives up after waiting this long for a worker. */
  queueTimeoutMs: 60_000,
  /** No limit unless the caller sets a deadline: tools may legitimately run long. */
  callTimeoutMs: 0,
  /** No recycling by default: recycling is for leaky adapters, set per pool. */
  maxCallsPerWorker: 0,
  maxWorkerAgeMs: 0,
  maxWorkerRssMb: 0,
  /** Python answers pings from its reader thread, so a busy worker still answers. */
  heartbeatIntervalMs: 5_000,
  /** Three missed pings (15 s) mean the process is wedged, not busy. */
  heartbeatMisses: 3,
  /** A cancelled call that has not stopped after this long has its worker killed, to reclaim the slot. */
  cancelGraceMs: 5_000,
  /** Idempotent calls whose worker died run again, at most this many times in all. */
  maxAttempts: 3,
  /** First retry delay; doubles per attempt so a crash loop is not hammered. */
  retryBackoffMs: 10,
  /** Startup failures in a row that open the circuit (fail fast instead of crash-looping). */
  circuitThreshold: 3,
  /** How long an open circuit waits before trying one worker again; doubles up to 60 s. */
  circuitCooldownMs: 2_000,
  /** Restart delay after a worker dies; grows when deaths come faster than restartIntensity allows. */
  restartBackoffMs: 100,
  /** Up to this many restarts per 10 s happen at once; more are delayed with backoff. */
  restartIntensity: 20,
  /**
   * Calls queued at a worker beyond its concurrency, so it never idles for a
   * round trip between calls, and fast calls travel in batches: the worker
   * sends the results of calls it already holds in one write (npm run bench:
   * 8 gives about 1.5x the throughput of 1 for a fast tool, 16 in flight).
   */
  prefetch: 8,
  /** A prefetched call waiting behind a call running this long is moved to an idle worker, so slow calls do not block it. */
  prefetchStealMs: 20,
  /** Stream chunks in flight per call before the worker waits for the reader (bounded memory). */
  chunkWindow: 256,
  /** Idle sessions expire after 30 minutes unless they set their own TTL. */
  sessionTtlMs: 30 * 60_000,
  /** Bounds the session table per pool. */
  maxSessions: 100_000,
  /** Per session, bounds variable memory. */
  maxVariables: 1_000,
  /** Per variable value. */
  maxVariableBytes: 1024 * 1024,
  /** How often expired sessions are swept. */
  sessionSweepMs: 1_000,
  /** Time running calls get to finish when the pool closes before workers are stopped. */
  shutdownGraceMs: 10_000,
  /** With `gpus` listed: one device per worker, the common case of one model copy per GPU. */
  gpusPerWorker: 1,
  /**
   * Autoscaling (pools with maxSize): load must stay above target this long
   * before workers start, so a blip shorter than a worker's startup starts none.
   */
  scaleUpDelayMs: 1_000,
  /** Autoscaling: a worker idle this long is retired; a restart costs an import, so a lull is not enough. */
  scaleDownDelayMs: 60_000,
} as const;

/** Every default of the compute layer, each with its reason. */
export const computeDefaults = {
  /** The mock provider needs no cloud account, so a fresh server can exercise the whole compute API. */
  defaultProvider: "mock",
  /** A compute on its way to ready is polled this often; cheap for mock and local, polite to cloud APIs. */
  pollIntervalMs: 1_000,
  /** Idle TTLs are enforced to within this. */
  idleSweepMs: 1_000,
  /** Leftover labelled machines are looked for every 5 minutes (and at start). */
  reaperIntervalMs: 300_000,
  /** WatchComputeLogs sends the newest 100 lines unless asked for more (RunPod's own default backfill). */
  logTail: 100,
  /** WaitCompute gives up after 10 minutes unless told otherwise: GPU pods can take minutes. */
  waitTimeoutMs: 600_000,
  /** RunPod's REST API for pods. */
  runpodRestUrl: "https://rest.runpod.io/v1",
  /** RunPod's serverless API for jobs. */
  runpodServerlessUrl: "https://api.runpod.ai/v2",
  /** RunPod's REST API v2, which streams pod logs. */
  runpodLogsUrl: "https://api.runpod.io/v2",
  /** RunPod's public URL of a pod's http port. */
  runpodProxyUrl: "https://{id}-{port}.proxy.runpod.net",
  /** Retries after a 429, 5xx, timeout or network error: enough to ride out a blip, bounded for the caller. */
  providerRetries: 4,
  /** First retry delay; doubles with jitter. */
  providerMinBackoffMs: 250,
  /** Longest retry delay. */
  providerMaxBackoffMs: 8_000,
  /** Per HTTP attempt to a cloud API. */
  providerTimeoutMs: 30_000,
  /** RunPod's stream endpoint is polled this often. */
  runpodStreamPollMs: 1_000,
  /** The resource NVIDIA's device plugin advertises GPUs as. */
  k8sGpuResource: "nvidia.com/gpu",
  /** The node label GPU Feature Discovery sets to the GPU's product name. */
  k8sGpuProductLabel: "nvidia.com/gpu.product",
  /** Finished Kubernetes Jobs (RunJob) stay a day for GetJob, then the cluster deletes them. */
  k8sJobTtlSeconds: 86_400,
  /** What worker-group pods run when the spec names no image. */
  k8sWorkerImage: "python:3.12-slim",
} as const;

/** Every default of tracing (the `telemetry` block), each with its reason. */
export const telemetryDefaults = {
  /** What trace backends list the server's spans under (OpenTelemetry's service.name). */
  serviceName: "pyfleet",
  /** Every trace a caller starts is kept; lower it for busy servers. A caller's sampling decision (traceparent flags) always wins. */
  sampleRatio: 1,
} as const;
