// The status page (/ui): pools, sessions and computes of the server that
// serves it, live. Plain TypeScript and the DOM, bundled by esbuild; the data
// comes through the browser SDK (connect-web): WatchPool and WatchComputes
// push worker and compute changes, and the counters (calls, queue, latency)
// are read with GetPoolStats each second, since no event fires per call.
import { createClient, PyfleetError, type PyfleetClient } from "@pyfleet/sdk";

const KEY_STORAGE = "pyfleet.apiKey";
const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;

interface PoolRow {
  name: string;
  cells: Record<string, HTMLTableCellElement>;
}

const POOL_FIELDS = ["workers", "queue", "inFlight", "calls", "errors", "latency", "sessions", "restarts", "circuit"] as const;

let stop = new AbortController();

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function setStatus(text: string, kind: "live" | "down" | "auth") {
  const s = $("#status");
  s.textContent = text;
  s.dataset.kind = kind;
}

function client(): PyfleetClient {
  // The SDK sends no Authorization header for an undefined or empty key.
  return createClient({ baseUrl: location.origin, apiKey: sessionStorage.getItem(KEY_STORAGE) ?? undefined });
}

/** Shows the API key form; resolves when the user submits one. */
function askForKey(message: string): Promise<void> {
  const form = $<HTMLFormElement>("#auth");
  $("#auth-message").textContent = message;
  form.hidden = false;
  setStatus("API key needed", "auth");
  return new Promise((resolve) => {
    form.onsubmit = (e) => {
      e.preventDefault();
      sessionStorage.setItem(KEY_STORAGE, $<HTMLInputElement>("#api-key").value.trim());
      form.hidden = true;
      resolve();
    };
  });
}

function poolRow(name: string): PoolRow {
  const tr = el("tr", { "data-pool": name });
  tr.append(el("td", { "data-field": "name" }, name));
  const cells: Record<string, HTMLTableCellElement> = {};
  for (const f of POOL_FIELDS) tr.append((cells[f] = el("td", { "data-field": f })));
  $("#pools tbody").append(tr);
  return { name, cells };
}

function fmtMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

function addEvent(text: string) {
  const list = $("#events");
  list.prepend(el("li", {}, `${new Date().toLocaleTimeString()}  ${text}`));
  while (list.children.length > 30) list.lastElementChild!.remove();
}

async function watchPool(c: PyfleetClient, name: string, refresh: () => void, signal: AbortSignal) {
  for (;;) {
    try {
      for await (const e of c.poolNamed(name).watch({ signal })) {
        addEvent(`${e.pool} ${e.kind}${e.workerId ? ` ${e.workerId}` : ""}${e.message ? `: ${e.message}` : ""}`);
        refresh();
      }
    } catch (e) {
      if (signal.aborted) return;
      addEvent(`watch ${name}: ${PyfleetError.from(e).message}; reconnecting`);
    }
    if (signal.aborted) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function watchComputes(c: PyfleetClient, signal: AbortSignal) {
  const rows = new Map<string, HTMLTableRowElement>();
  const body = $("#computes tbody");
  for (;;) {
    try {
      for await (const { compute } of c.compute.watch({ includeInitial: true, signal })) {
        let tr = rows.get(compute.id);
        if (!tr) {
          tr = el("tr", { "data-compute": compute.id });
          rows.set(compute.id, tr);
          body.prepend(tr);
        }
        tr.replaceChildren(
          el("td", {}, compute.id),
          el("td", {}, compute.provider),
          el("td", { "data-field": "status" }, compute.status),
          el("td", {}, compute.gpuType || "-"),
          el("td", {}, compute.costPerHour ? `$${compute.costPerHour.toFixed(2)}` : "-"),
          el("td", {}, String(compute.workersAttached)),
        );
        $("#computes-count").textContent = String([...rows.values()].filter((r) => !/terminated|failed/i.test(r.children[2]?.textContent ?? "")).length);
      }
    } catch (e) {
      if (signal.aborted) return;
      const err = PyfleetError.from(e);
      if (err.code === "unimplemented") return;
      addEvent(`watch computes: ${err.message}; reconnecting`);
    }
    if (signal.aborted) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function refreshSessions(c: PyfleetClient) {
  const { sessions } = await c.rpc.pool.listSessions({ pageSize: 100 });
  const body = $("#sessions tbody");
  body.replaceChildren(...sessions.map((s) => {
    const tr = el("tr", { "data-session": s.id });
    tr.append(el("td", {}, s.id), el("td", {}, s.pool), el("td", {}, s.workerId || "-"), el("td", {}, String(s.stats?.calls ?? 0n)));
    return tr;
  }));
  $("#sessions-count").textContent = String(sessions.length);
}

async function start(): Promise<void> {
  stop.abort();
  stop = new AbortController();
  const { signal } = stop;
  const c = client();
  let pools;
  try {
    pools = await c.pool.list();
  } catch (e) {
    const err = PyfleetError.from(e);
    if (err.code === "unauthenticated") {
      await askForKey(sessionStorage.getItem(KEY_STORAGE) ? `That key was refused (${err.message}). Try another.` : "This server needs an API key.");
      return start();
    }
    setStatus(`cannot reach the server: ${err.message}`, "down");
    setTimeout(() => void start(), 2000);
    return;
  }
  $("#pools tbody").replaceChildren();
  const rows = new Map(pools.map((p) => [p.name, poolRow(p.name)]));
  const select = $<HTMLSelectElement>("#run-pool");
  select.replaceChildren(...pools.map((p) => el("option", { value: p.name }, p.name)));

  const refresh = async () => {
    await Promise.all([...rows.values()].map(async (row) => {
      const s = await c.poolNamed(row.name).stats();
      const errors = Object.values(s.errorsByCode).reduce((a, b) => a + b, 0);
      const set = (f: string, text: string) => {
        if (row.cells[f]!.textContent !== text) row.cells[f]!.textContent = text;
      };
      set("workers", `${s.workersReady} ready / ${s.workersBusy} busy / ${s.workersStarting} starting${s.workersDraining ? ` / ${s.workersDraining} draining` : ""}`);
      set("queue", String(s.queueDepth));
      set("inFlight", String(s.inFlight));
      set("calls", String(s.callsTotal));
      set("errors", String(errors));
      set("latency", s.callsTotal ? `${fmtMs(s.latencyP50Ms)} / ${fmtMs(s.latencyP99Ms)}` : "-");
      set("sessions", String(s.sessions));
      set("restarts", String(s.restarts));
      set("circuit", s.circuitOpen ? "open" : "closed");
    }));
    await refreshSessions(c);
  };
  let pending = false;
  const refreshSoon = () => {
    if (pending) return;
    pending = true;
    void refresh().catch((e: unknown) => setStatus(`refresh failed: ${PyfleetError.from(e).message}`, "down")).finally(() => {
      pending = false;
    });
  };
  await refresh();
  setStatus("live", "live");
  const timer = setInterval(() => {
    if (!document.hidden) refreshSoon();
  }, 1000);
  signal.addEventListener("abort", () => clearInterval(timer));
  for (const name of rows.keys()) void watchPool(c, name, refreshSoon, signal);
  void watchComputes(c, signal);

  $<HTMLFormElement>("#run").onsubmit = async (e) => {
    e.preventDefault();
    const out = $("#run-result");
    out.textContent = "running...";
    try {
      const args = JSON.parse($<HTMLInputElement>("#run-args").value || "{}") as Record<string, never>;
      const value = await c.poolNamed(select.value).execute($<HTMLInputElement>("#run-tool").value, args);
      out.textContent = JSON.stringify(value);
      out.dataset.ok = "true";
    } catch (err) {
      const p = PyfleetError.from(err);
      out.textContent = `${p.code}: ${p.message}`;
      out.dataset.ok = "false";
    }
    refreshSoon();
  };
}

void start();
