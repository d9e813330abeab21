import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@pyfleet/sdk/node";
import type { Locator } from "playwright-core";
import { describe, expect, it, onTestFinished } from "vitest";
import { startServer } from "../helpers.js";
import { launchChromium } from "./chromium.js";

const KEY = "status-page-test-key-0123456789";
/** PYFLEET_UPDATE_SCREENSHOT=1 refreshes the screenshot in the docs. */
const SCREENSHOT = process.env.PYFLEET_UPDATE_SCREENSHOT
  ? new URL("../../../docs/status-page.png", import.meta.url).pathname
  : join(mkdtempSync(join(tmpdir(), "pyfleet-ui-")), "status-page.png");

describe("the status page at /ui, in headless Chromium", () => {
  it("asks for the API key, shows the pools, runs a call, and its counts move live", async () => {
    const server = await startServer({
      auth: { apiKeys: [{ name: "ops", key: KEY }] },
      pools: [{ name: "default", size: 2 }, { name: "gpu", size: 1 }],
    });
    await server.ready();
    const sdk = createClient({ baseUrl: server.url, apiKey: KEY });
    onTestFinished(() => sdk.close());

    const root = await fetch(`${server.url}/`, { redirect: "manual" });
    expect([root.status, root.headers.get("location")]).toEqual([302, "/ui/"]);

    const browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1200, height: 820 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${server.url}/ui/`);

    // The server has keys: the page asks for one before showing anything.
    await page.locator("#auth").waitFor({ state: "visible" });
    expect(await page.locator("#auth-message").textContent()).toBe("This server needs an API key.");
    await page.fill("#api-key", "wrong-key-wrong-key-wrong");
    await page.click("#auth button");
    await page.locator("#auth-message", { hasText: /^That key was refused/ }).waitFor();
    await page.fill("#api-key", KEY);
    await page.click("#auth button");
    await page.locator("#status[data-kind=live]").waitFor();
    expect(await page.locator("#auth").isHidden()).toBe(true);

    const cell = (pool: string, field: string) => page.locator(`#pools tr[data-pool="${pool}"] td[data-field="${field}"]`);
    expect(await page.locator("#pools tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-pool")))).toEqual(["default", "gpu"]);
    await expectText(cell("default", "workers"), "2 ready / 0 busy / 0 starting");
    await expectText(cell("gpu", "workers"), "1 ready / 0 busy / 0 starting");
    await expectText(cell("default", "calls"), "0");

    // Run a call from the page.
    await page.fill("#run-tool", "add");
    await page.fill("#run-args", '{"a": 2, "b": 3}');
    await page.click("#run button");
    await expectText(page.locator("#run-result"), "5");
    await expectText(cell("default", "calls"), "1");

    // Calls from elsewhere move the counts too: a slow call shows as busy and in flight...
    const slow = sdk.pool.execute("sleep", { seconds: 3 });
    await expectText(cell("default", "inFlight"), "1");
    await expectText(cell("default", "workers"), "1 ready / 1 busy / 0 starting");
    // ... a session appears, and failures count as errors.
    const session = await sdk.poolNamed("gpu").session();
    await session.call("counter");
    await sdk.pool.execute("fail", { message: "x" }).catch(() => undefined);
    await expectText(page.locator("#sessions-count"), "1");
    await expectText(page.locator(`#sessions tr[data-session="${session.id}"] td:nth-child(4)`), "1");
    await expectText(cell("default", "errors"), "1");
    await slow;
    await expectText(cell("default", "calls"), "3");
    await expectText(cell("default", "inFlight"), "0");
    await expectText(cell("gpu", "calls"), "1");
    expect(await cell("default", "latency").textContent()).toMatch(/^\d+(\.\d+)? \/ \d+(\.\d+)?$/);

    // A worker dies: the watch stream reports it at once.
    const pid = (await sdk.poolNamed("gpu").call("counter")).info.workerPid;
    process.kill(pid, "SIGKILL");
    await page.locator("#events li", { hasText: "gpu worker.died" }).first().waitFor({ timeout: 20_000 });
    await expectText(cell("gpu", "restarts"), "1");

    // A compute shows up through WatchComputes.
    const compute = await sdk.compute.spawn({ gpu: "a4000", idleTtlMs: 600_000 });
    await page.locator(`#computes tr[data-compute="${compute.id}"]`).waitFor();
    await expectText(page.locator("#computes-count"), "1");

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);
  }, 120_000);
});

/** Waits (Playwright's own wait, up to 15 s) until the element's whole text is `text`; then fails showing what it shows. */
async function expectText(locator: Locator, text: string): Promise<void> {
  const exactly = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  const shown = await locator.filter({ hasText: exactly }).waitFor({ timeout: 15_000 }).then(() => text, () => locator.textContent({ timeout: 1_000 }));
  expect(shown).toBe(text);
}
