import { PyfleetError } from "./errors.js";

/** The largest page a List call may ask for. */
export const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;

/**
 * One page of `items` (already in their listing order) after the item
 * `pageToken` names, and the token of the page after it ("" on the last).
 * A token is the last item's id, base64url: opaque to clients, and still
 * good after items before it went away.
 */
export function page<T extends { id: string }>(items: T[], pageSize: number, pageToken: string, what: string): { items: T[]; nextPageToken: string } {
  if (pageSize > MAX_PAGE) throw new PyfleetError("invalid_argument", `page_size must be at most ${MAX_PAGE} (got ${pageSize})`);
  let start = 0;
  if (pageToken !== "") {
    const after = Buffer.from(pageToken, "base64url").toString("utf8");
    start = items.findIndex((item) => item.id === after) + 1;
    if (start === 0) throw new PyfleetError("invalid_argument", `page_token is not valid (or its ${what} is gone); list from the start`);
  }
  const size = pageSize || DEFAULT_PAGE;
  const slice = items.slice(start, start + size);
  const last = slice.at(-1);
  const more = start + size < items.length;
  return { items: slice, nextPageToken: more && last ? Buffer.from(last.id).toString("base64url") : "" };
}
