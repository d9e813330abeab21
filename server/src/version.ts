import { readFileSync } from "node:fs";

/**
 * This package's version (server/package.json: the same path from src/ and
 * dist/). The server states it in every response's `pyfleet-version` header and
 * in ListPools and health details; clients use it to pick wire features.
 */
export const SERVER_VERSION: string = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** The response header that carries SERVER_VERSION. */
export const VERSION_HEADER = "pyfleet-version";
