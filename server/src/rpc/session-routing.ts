import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { type ListSessionsResponse, ListSessionsResponseSchema, type PoolService, type Session } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { MAX_PAGE, page } from "../paging.js";
import { replicaOfSession, type SessionRouter } from "../fleet/index.js";
import { PyfleetError } from "../errors.js";
import { tenantOf } from "./context.js";

/** What a client-chosen session id may be (pool/sessions checks it again, with the message). */
const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

const millis = (t: Timestamp | undefined) => (t ? timestampMs(t) : 0);

/** Every page of a local list. */
async function allPages(list: (pageToken: string) => Promise<ListSessionsResponse>): Promise<Session[]> {
  const out: Session[] = [];
  let pageToken = "";
  do {
    const res = await list(pageToken);
    out.push(...res.sessions);
    pageToken = res.nextPageToken;
  } while (pageToken !== "");
  return out;
}

type PoolImpl = Partial<ServiceImpl<typeof PoolService>>;
type Impl<K extends keyof ServiceImpl<typeof PoolService>> = ServiceImpl<typeof PoolService>[K];

/**
 * PoolService with session calls served by the replica that owns the
 * session: each call for a session held elsewhere takes one hop there
 * (SessionRouter); every other call is the local handler's. CreateSession
 * with a client-chosen id claims the id fleet-wide first, and goes to the
 * replica already holding it, if any.
 */
export function routeSessions(local: PoolImpl, router: SessionRouter): PoolImpl {
  const impl = local as ServiceImpl<typeof PoolService>;
  const { fleet } = router;

  /** A unary method whose request names a session by `sessionId`. */
  function unary<K extends "execute" | "getSession" | "setVariable" | "getVariable" | "listVariables" | "deleteVariable">(name: K): Impl<K> {
    const here = impl[name] as (req: { sessionId: string }, ctx: HandlerContext) => unknown;
    return ((req: { sessionId: string }, ctx: HandlerContext) => {
      const route = router.route(req.sessionId, tenantOf(ctx), ctx);
      if (route === undefined) return here(req, ctx);
      return route.then((hop) => (hop ? hop.unary((c, options) => (c[name] as (r: unknown, o: unknown) => Promise<unknown>)(req, options)) : here(req, ctx)));
    }) as Impl<K>;
  }

  /** A server-streaming method whose request names a session. */
  function stream<K extends "executeStream" | "watchVariables">(name: K): Impl<K> {
    const here = impl[name] as (req: { sessionId: string }, ctx: HandlerContext) => AsyncIterable<unknown>;
    return (async function* (req: { sessionId: string }, ctx: HandlerContext) {
      const hop = await router.route(req.sessionId, tenantOf(ctx), ctx);
      if (!hop) {
        yield* here(req, ctx);
        return;
      }
      yield* hop.stream((client, options) => (client[name] as (r: unknown, o: unknown) => AsyncIterable<unknown>)(req, options));
    }) as unknown as Impl<K>;
  }

  return {
    ...local,
    execute: unary("execute"),
    executeStream: stream("executeStream"),
    getSession: unary("getSession"),
    async deleteSession(req, ctx) {
      const tenant = tenantOf(ctx);
      const hop = await router.route(req.sessionId, tenant, ctx);
      if (hop) return hop.unary((client, options) => client.deleteSession(req, options));
      const res = await impl.deleteSession(req, ctx);
      // The owner drops the fleet-wide claim of a client-chosen id with the session.
      if (replicaOfSession(req.sessionId) === undefined) await fleet.release(tenant, req.sessionId);
      return res;
    },
    setVariable: unary("setVariable"),
    getVariable: unary("getVariable"),
    listVariables: unary("listVariables"),
    deleteVariable: unary("deleteVariable"),
    watchVariables: stream("watchVariables"),

    async listSessions(req, ctx) {
      if (router.forwarded(ctx)) return impl.listSessions(req, ctx);
      const peers = await fleet.peers();
      if (peers.length === 0) return impl.listSessions(req, ctx);
      // Every replica's sessions of the tenant, merged newest first and paged here.
      const lists = await Promise.all([
        allPages((pageToken) => Promise.resolve(impl.listSessions({ ...req, pageSize: MAX_PAGE, pageToken }, ctx)) as unknown as Promise<ListSessionsResponse>),
        ...peers.map((peer) => router.forwarder.sessionsOn(peer, ctx, req)),
      ]);
      const all = lists.flat().sort((a, b) => millis(b.createdAt) - millis(a.createdAt));
      const { items, nextPageToken } = page(all, req.pageSize, req.pageToken, "session");
      return create(ListSessionsResponseSchema, { sessions: items, nextPageToken });
    },

    async createSession(req, ctx) {
      const id = req.sessionId;
      // Generated ids name their replica; an invalid id is refused by the local handler before anything is claimed.
      if (id === "" || !CLIENT_ID.test(id) || router.forwarded(ctx)) return impl.createSession(req, ctx);
      const tenant = tenantOf(ctx);
      const holder = await fleet.claim(tenant, id);
      if (holder !== fleet.id) {
        const hop = await router.route(id, tenant, ctx);
        if (hop) return hop.unary((client, options) => client.createSession(req, options));
      }
      try {
        return await impl.createSession(req, ctx);
      } catch (e) {
        // Keep the claim only for a session that exists here.
        if (!(e instanceof PyfleetError && e.code === "already_exists")) await fleet.release(tenant, id);
        throw e;
      }
    },
  };
}
