import { newId } from "../ids.js";

/** A new replica id: "rep_" and 26 base32 characters. */
export function newReplicaId(): string {
  return newId("rep");
}

/**
 * What a replica appends to the session ids it generates: "." and its id.
 * Client-chosen ids cannot hold ".", so a generated id never collides with
 * one, and its suffix alone says which replica owns the session.
 */
export function sessionIdSuffix(replicaId: string): string {
  return `.${replicaId}`;
}

/** The replica a generated session id names; undefined for a client-chosen id. */
export function replicaOfSession(sessionId: string): string | undefined {
  const dot = sessionId.lastIndexOf(".");
  return dot > 0 && dot < sessionId.length - 1 ? sessionId.slice(dot + 1) : undefined;
}
