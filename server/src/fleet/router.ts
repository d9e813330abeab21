import type { HandlerContext } from "@connectrpc/connect";
import type { Fleet } from "./fleet.js";
import { Forwarder, HOP_HEADER, type Hop, serverGone } from "./forward.js";
import { replicaOfSession } from "./ids.js";

/**
 * Decides where a session's call is served: here, or one hop away on the
 * replica that owns the session. A generated id names its replica; a
 * client-chosen id is looked up in the store (the replica that created it
 * claimed it there). A call that already took its hop is served here.
 */
export class SessionRouter {
  readonly forwarder: Forwarder;

  constructor(
    readonly fleet: Fleet,
    /** Whether this replica holds the tenant's session with this id. */
    private readonly isLocal: (sessionId: string, tenant: string) => boolean,
  ) {
    this.forwarder = new Forwarder(fleet);
  }

  /** Whether this call was forwarded to this replica (then it is served here, whatever happens). */
  forwarded(ctx: HandlerContext): boolean {
    return ctx.requestHeader.get(HOP_HEADER) !== null;
  }

  /**
   * Where a call for `sessionId` goes: undefined to serve it here, or the
   * hop to its owner. NOT_FOUND when the owner is gone. Answers without
   * awaiting anything when the session is plainly here (the common case).
   */
  route(sessionId: string, tenant: string, ctx: HandlerContext): undefined | Promise<Hop | undefined> {
    const hop = ctx.requestHeader.get(HOP_HEADER);
    if (this.servesHere(sessionId, tenant, hop)) return undefined;
    if (hop !== null) throw serverGone(sessionId, hop);
    return this.remote(sessionId, tenant, replicaOfSession(sessionId), ctx);
  }

  /**
   * Whether a call for `sessionId` is plainly served here, without asking
   * the store: no session, a session this replica holds or whose id names
   * it, or a call that took its hop to this replica (`hop`: the request's
   * hop header, or null).
   */
  servesHere(sessionId: string, tenant: string, hop: string | null): boolean {
    if (sessionId === "") return true;
    if (hop !== null) return hop === this.fleet.id;
    const named = replicaOfSession(sessionId);
    return named === this.fleet.id || (named === undefined && this.isLocal(sessionId, tenant));
  }

  private async remote(sessionId: string, tenant: string, named: string | undefined, ctx: HandlerContext): Promise<Hop | undefined> {
    const owner = named ?? (await this.fleet.claimOf(tenant, sessionId));
    // No claim, or this replica's own: the session is not anywhere else, and here answers NOT_FOUND.
    if (owner === undefined || owner === this.fleet.id) return undefined;
    const replica = await this.fleet.locate(owner);
    if (!replica) throw serverGone(sessionId, owner);
    return this.forwarder.hop(replica, sessionId, ctx);
  }

  close(): void {
    this.forwarder.close();
  }
}
