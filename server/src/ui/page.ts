/** The status page's HTML shell: the layout and styles; server/ui/main.ts fills it in. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pyfleet status</title>
<style>
  :root { color-scheme: light dark; --muted: #6b7280; --line: #d1d5db; --ok: #15803d; --bad: #b91c1c; }
  [hidden] { display: none !important; }
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0; padding: 1.25rem 2rem; }
  header { display: flex; align-items: baseline; gap: 1rem; }
  h1 { font-size: 1.3rem; margin: 0; }
  h2 { font-size: 1rem; margin: 1.6rem 0 .4rem; }
  h2 small { color: var(--muted); font-weight: normal; }
  #status { font-weight: 600; }
  #status[data-kind="live"] { color: var(--ok); }
  #status[data-kind="live"]::before { content: "\\25CF  "; }
  #status[data-kind="down"], #status[data-kind="auth"] { color: var(--bad); }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th { color: var(--muted); font-weight: 600; font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; }
  tbody:empty::after { content: "none"; color: var(--muted); display: block; padding: .3rem .6rem; }
  form { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
  input, select, button { font: inherit; padding: .25rem .5rem; }
  #run-args { width: 22rem; font-family: ui-monospace, monospace; }
  #run-result { font-family: ui-monospace, monospace; }
  #run-result[data-ok="false"] { color: var(--bad); }
  #events { font-family: ui-monospace, monospace; font-size: .85rem; color: var(--muted); list-style: none; padding: 0; margin: 0; max-height: 14rem; overflow: auto; }
  #auth { border: 1px solid var(--line); padding: .8rem 1rem; margin-top: 1rem; }
</style>
</head>
<body>
<header><h1>pyfleet</h1><span id="status" data-kind="down">connecting...</span></header>
<form id="auth" hidden>
  <span id="auth-message"></span>
  <input id="api-key" type="password" autocomplete="off" placeholder="API key" required>
  <button type="submit">Use key</button>
</form>
<h2>Pools</h2>
<table id="pools">
  <thead><tr><th>pool</th><th>workers</th><th>queue</th><th>in flight</th><th>calls</th><th>errors</th><th>p50 / p99 ms</th><th>sessions</th><th>restarts</th><th>circuit</th></tr></thead>
  <tbody></tbody>
</table>
<h2>Run a tool</h2>
<form id="run">
  <select id="run-pool" aria-label="pool"></select>
  <input id="run-tool" placeholder="tool" required aria-label="tool">
  <input id="run-args" placeholder='{"a": 1}' aria-label="arguments (JSON)">
  <button type="submit">Run</button>
  <span id="run-result"></span>
</form>
<h2>Sessions <small id="sessions-count">0</small></h2>
<table id="sessions">
  <thead><tr><th>id</th><th>pool</th><th>worker</th><th>calls</th></tr></thead>
  <tbody></tbody>
</table>
<h2>Computes <small id="computes-count">0</small> <small>(jobs have no list RPC: see pyfleet jobs get ID)</small></h2>
<table id="computes">
  <thead><tr><th>id</th><th>provider</th><th>status</th><th>gpu</th><th>cost/h</th><th>workers</th></tr></thead>
  <tbody></tbody>
</table>
<h2>Events</h2>
<ul id="events"></ul>
<script type="module" src="/ui/app.js"></script>
</body>
</html>
`;
