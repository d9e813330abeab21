import { EventEmitter } from "node:events";
import { type KubeConfig, Watch } from "@kubernetes/client-node";
import type { Logger } from "../../../log/index.js";

/** The parts of a Kubernetes object the cache needs. */
export interface KubeObject {
  metadata?: { name?: string; resourceVersion?: string };
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

/**
 * Whether `a` is a later version than `b`. Resource versions are etcd
 * revisions, which grow; Kubernetes calls them opaque, so one that is not a
 * number counts as newer whenever it differs.
 */
function newer(a: KubeObject, b: KubeObject): boolean {
  const x = a.metadata?.resourceVersion ?? "";
  const y = b.metadata?.resourceVersion ?? "";
  if (!/^\d+$/.test(x) || !/^\d+$/.test(y)) return x !== y;
  return Number(x) > Number(y);
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export interface WatchCacheOptions<T> {
  kc: KubeConfig;
  /** e.g. /api/v1/namespaces/NS/pods */
  path: string;
  labelSelector: string;
  list: () => Promise<ListResult<T>>;
  logger: Logger;
  /** Delay before reconnecting after an error (doubled per failure up to maxBackoffMs). */
  minBackoffMs: number;
  maxBackoffMs: number;
}

/**
 * A namespace's objects of one kind, kept current by a watch: list once,
 * then watch from the list's resourceVersion, resume from the last version
 * seen after a dropped connection (an API server restart included), and
 * list again only when the server says that version is gone (410). A list
 * that replaces the cache reports what changed in between, deletions
 * included, so a listener misses no transition.
 */
export class WatchCache<T extends KubeObject> {
  private readonly objects = new Map<string, T>();
  private readonly events = new EventEmitter();
  private resourceVersion = "";
  private abort: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  private synced: Promise<void>;
  private markSynced!: () => void;
  /** Whether the first list is in. */
  isSynced = false;

  constructor(private readonly options: WatchCacheOptions<T>) {
    this.events.setMaxListeners(0);
    this.synced = new Promise((resolve) => {
      this.markSynced = resolve;
    });
  }

  /** Starts listing and watching; resolves once the first list is in. */
  start(): Promise<void> {
    void this.relist();
    return this.synced;
  }

  /** Resolves once the first list is in. */
  ready(): Promise<void> {
    return this.synced;
  }

  get(name: string): T | undefined {
    return this.objects.get(name);
  }

  values(): T[] {
    return [...this.objects.values()];
  }

  /** Calls `listener` for every change; returns the unsubscribe. */
  onChange(listener: (type: WatchEventType, obj: T) => void): () => void {
    this.events.on("change", listener);
    return () => this.events.off("change", listener);
  }

  /** Puts an object the provider just wrote, so a read right after sees it (the watch confirms it later). */
  put(obj: T): void {
    const name = obj.metadata?.name;
    if (!name) return;
    const known = this.objects.get(name);
    if (known && !newer(obj, known)) return;
    this.apply(known ? "MODIFIED" : "ADDED", obj);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.abort?.abort();
  }

  private apply(type: WatchEventType, obj: T) {
    const name = obj.metadata?.name;
    if (!name) return;
    if (type === "DELETED") this.objects.delete(name);
    else this.objects.set(name, obj);
    this.events.emit("change", type, obj);
  }

  private async relist(): Promise<void> {
    if (this.closed) return;
    let result: ListResult<T>;
    try {
      result = await this.options.list();
    } catch (e) {
      this.retryLater(() => this.relist(), e);
      return;
    }
    this.options.logger.debug({ path: this.options.path, resourceVersion: result.resourceVersion }, "kubernetes watch: listed");
    const seen = new Set<string>();
    for (const obj of result.items) {
      const name = obj.metadata?.name;
      if (!name) continue;
      seen.add(name);
      const known = this.objects.get(name);
      if (!known) this.apply("ADDED", obj);
      else if (newer(obj, known)) this.apply("MODIFIED", obj);
    }
    // An object missing from the list was deleted, unless it was written after the list's
    // snapshot (put by the provider while the list was on its way): the watch from that
    // snapshot brings it. Taking it for deleted marked a pod spawned before the first list
    // answered as "deleted outside pyfleet" for good (fresh-clone runs 13 and 20).
    for (const [name, obj] of this.objects) {
      if (!seen.has(name) && !newer(obj, { metadata: { resourceVersion: result.resourceVersion } })) this.apply("DELETED", obj);
    }
    this.resourceVersion = result.resourceVersion;
    this.isSynced = true;
    this.markSynced();
    void this.watch();
  }

  private async watch(): Promise<void> {
    if (this.closed) return;
    this.options.logger.debug({ path: this.options.path, resourceVersion: this.resourceVersion }, "kubernetes watch: watching");
    let gone = false;
    let sawEvent = false;
    const done = (err: unknown) => {
      this.abort = undefined;
      if (this.closed) return;
      const status = (err as { statusCode?: number } | null)?.statusCode;
      if (gone || status === 410) {
        this.options.logger.info({ path: this.options.path }, "kubernetes watch: resourceVersion expired (410 Gone); listing again");
        void this.relist();
      } else if (err) {
        this.retryLater(() => this.watch(), err);
      } else {
        // The server ended the watch (its timeout, or it went away): resume from the last version seen.
        if (sawEvent) this.failures = 0;
        this.timer = setTimeout(() => void this.watch(), sawEvent ? 0 : this.backoff());
      }
    };
    try {
      this.abort = await new Watch(this.options.kc).watch(this.options.path, {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        labelSelector: this.options.labelSelector,
        timeoutSeconds: 300,
      }, (type: string, obj: T & { code?: number }) => {
        sawEvent = true;
        if (type === "ERROR") {
          if (obj.code === 410) gone = true;
          return;
        }
        const rv = obj.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
        if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") {
          this.failures = 0;
          this.apply(type, obj);
        }
      }, done);
      if (this.closed) this.abort?.abort();
    } catch (e) {
      this.retryLater(() => this.watch(), e);
    }
  }

  private backoff(): number {
    const ms = Math.min(this.options.maxBackoffMs, this.options.minBackoffMs * 2 ** this.failures);
    this.failures++;
    return ms;
  }

  private retryLater(again: () => Promise<void>, err: unknown) {
    if (this.closed) return;
    const ms = this.backoff();
    this.options.logger.warn({ path: this.options.path, err: err instanceof Error ? err.message : String(err), retryInMs: ms }, "kubernetes watch failed; retrying");
    this.timer = setTimeout(() => void again(), ms);
  }
}
