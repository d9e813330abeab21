import { type CallOptions, type Client, Code, ConnectError, createClient, type HandlerContext } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { type ListSessionsRequest, PoolService, type Session } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import type { ReplicaRecord } from "../compute/index.js";
import { PyfleetError } from "../errors.js";
import { MAX_PAGE } from "../paging.js";
import { rpcSpanKey } from "../rpc/context.js";
import type { Fleet } from "./fleet.js";

/**
 * Marks a forwarded call and names the replica it was sent to. A call that
 * carries it is served where it lands, never forwarded again; if it landed on
 * another replica than the one named (a new process on a dead one's address),
 * the session is gone.
 */
export const HOP_HEADER = "pyfleet-hop";
/**
 * Caller headers a hop carries: the credentials (the owner authenticates them
 * itself), the request id, and the W3C trace context (replaced by this RPC's
 * own span when this server traces, so the owner's spans are its children).
 */
const CARRIED = ["authorization", "x-request-id", "traceparent", "tracestate"];

export type PoolClient = Client<typeof PoolService>;

/** The answer for a session whose replica stopped or cannot be reached. */
export function serverGone(sessionId: string, replica: string): PyfleetError {
  return new PyfleetError("not_found", `session "${sessionId}": its server (replica ${replica}) is gone, and the session's worker state and variables with it; create a new session`);
}

/** Whether a hop failed because nothing listens at the peer's address any more (its process is gone). */
function refused(e: unknown): boolean {
  for (let cause = e; cause instanceof Error; cause = cause.cause) {
    if ((cause as { code?: unknown }).code === "ECONNREFUSED") return true;
  }
  return false;
}

/** One call forwarded to the replica owning its session. */
export class Hop {
  constructor(
    private readonly forwarder: Forwarder,
    readonly replica: ReplicaRecord,
    private readonly sessionId: string,
    private readonly ctx: HandlerContext,
  ) {}

  /** A unary call on the owner, with the caller's deadline, cancellation and credentials. */
  async unary<T>(call: (client: PoolClient, options: CallOptions) => Promise<T>): Promise<T> {
    try {
      return await call(this.forwarder.client(this.replica), this.forwarder.options(this.ctx, this.replica.id));
    } catch (e) {
      throw this.translate(e);
    }
  }

  /** A server stream from the owner, message by message. */
  async *stream<T>(call: (client: PoolClient, options: CallOptions) => AsyncIterable<T>): AsyncGenerator<T> {
    try {
      yield* call(this.forwarder.client(this.replica), this.forwarder.options(this.ctx, this.replica.id));
    } catch (e) {
      throw this.translate(e);
    }
  }

  private translate(e: unknown): unknown {
    if (e instanceof ConnectError && e.code === Code.Unavailable && refused(e)) {
      this.forwarder.fleet.forget(this.replica.id);
      return serverGone(this.sessionId, this.replica.id);
    }
    return e;
  }
}

/**
 * Clients for the other replicas: one HTTP/2 connection per peer, made on
 * first use, speaking gRPC (binary, trailers for status) to its PoolService.
 */
export class Forwarder {
  private readonly peers = new Map<string, { client: PoolClient; sessions: Http2SessionManager }>();

  constructor(readonly fleet: Fleet) {}

  hop(replica: ReplicaRecord, sessionId: string, ctx: HandlerContext): Hop {
    return new Hop(this, replica, sessionId, ctx);
  }

  /** Every session of the caller's tenant on a peer (all pages); none when nothing listens there any more. */
  async sessionsOn(replica: ReplicaRecord, ctx: HandlerContext, req: ListSessionsRequest): Promise<Session[]> {
    const out: Session[] = [];
    let pageToken = "";
    try {
      do {
        const res = await this.client(replica).listSessions({ pool: req.pool, pageSize: MAX_PAGE, pageToken }, this.options(ctx, replica.id));
        out.push(...res.sessions);
        pageToken = res.nextPageToken;
      } while (pageToken !== "");
    } catch (e) {
      if (e instanceof ConnectError && e.code === Code.Unavailable && refused(e)) return [];
      throw e;
    }
    return out;
  }

  client(replica: ReplicaRecord): PoolClient {
    let peer = this.peers.get(replica.url);
    if (!peer) {
      const sessions = new Http2SessionManager(replica.url);
      peer = { sessions, client: createClient(PoolService, createGrpcTransport({ baseUrl: replica.url, sessionManager: sessions })) };
      this.peers.set(replica.url, peer);
    }
    return peer.client;
  }

  options(ctx: HandlerContext, target: string): CallOptions {
    const headers = new Headers();
    for (const name of CARRIED) {
      const value = ctx.requestHeader.get(name);
      if (value !== null) headers.set(name, value);
    }
    headers.set(HOP_HEADER, target);
    const span = ctx.values.get(rpcSpanKey);
    if (span !== undefined) {
      const { traceparent, tracestate } = span.context();
      headers.set("traceparent", traceparent);
      if (tracestate) headers.set("tracestate", tracestate);
      else headers.delete("tracestate");
    }
    return { headers, signal: ctx.signal, timeoutMs: ctx.timeoutMs() };
  }

  close(): void {
    for (const peer of this.peers.values()) peer.sessions.abort();
    this.peers.clear();
  }
}
