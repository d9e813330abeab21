import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The JSON Schema of pyfleet.yaml in this package, for the editor hint in the scaffold. */
const SCHEMA_FILE = fileURLToPath(new URL("../../pyfleet.schema.json", import.meta.url));

const ADAPTER = `"""Tools served by pyfleet: each @tool method becomes callable over Connect, gRPC and gRPC-Web.

Run them with \`pyfleet serve --config pyfleet.yaml\`; call them with
\`pyfleet exec greet --args '{"name": "Ada"}'\` or any pyfleet client.
"""

from __future__ import annotations

from collections.abc import Iterator

from pyfleet_bridge import Adapter, tool


class Tools(Adapter):
    """Module-level imports are shared by every worker (forked from one import);
    per-worker resources (models on a GPU, sockets, threads) belong in setup()."""

    def setup(self) -> None:
        """Runs once in each worker, before its first call."""
        self.greeting = "Hello"

    @tool(idempotent=True)
    def greet(self, name: str, punctuation: str = "!") -> str:
        """Greets someone by name."""
        return f"{self.greeting}, {name}{punctuation}"

    @tool
    def countdown(self, n: int = 3) -> Iterator[int]:
        """Streams n, n-1, ..., 1 (a generator tool: each value is one chunk)."""
        yield from range(n, 0, -1)
`;

const TEST = `"""Tests of the adapter, without a server: \`python -m pytest\`."""

from pyfleet_bridge.adapter import collect_tools

from tools import Tools


def test_the_server_sees_these_tools() -> None:
    tools = collect_tools(Tools)
    assert sorted(tools) == ["countdown", "greet"]
    assert [p.name for p in tools["greet"].params] == ["name", "punctuation"]
    assert tools["countdown"].is_generator


def test_greet() -> None:
    adapter = Tools()
    adapter.setup()
    assert adapter.greet("Ada") == "Hello, Ada!"


def test_countdown_streams() -> None:
    assert list(Tools().countdown(3)) == [3, 2, 1]
`;

function config(schemaRef: string): string {
  return `# yaml-language-server: $schema=${schemaRef}
# pyfleet serve --config pyfleet.yaml   (every key: docs/configuration.md)
port: 8080
pools:
  - name: default
    # "module:Class", imported from the directory pyfleet serve runs in.
    adapter: tools:Tools
    size: 2
    # The Python that runs the workers; default $PYFLEET_PYTHON, else python3.
    # python: .venv/bin/python
`;
}

export interface InitOptions {
  force?: boolean;
}

/** `pyfleet init [dir]`: a working adapter, its tests and a config, ready for `pyfleet serve`. */
export function init(dirArg: string | undefined, options: InitOptions): { dir: string; files: string[] } {
  const dir = resolve(dirArg ?? ".");
  const files: [string, string][] = [
    ["tools.py", ADAPTER],
    ["test_tools.py", TEST],
    ["pyfleet.yaml", config(existsSync(SCHEMA_FILE) ? relative(dir, SCHEMA_FILE) : "pyfleet.schema.json")],
  ];
  const existing = files.map(([name]) => name).filter((name) => existsSync(join(dir, name)));
  if (existing.length > 0 && !options.force) {
    throw new InitError(`${existing.map((n) => join(dirArg ?? ".", n)).join(", ")} already exist${existing.length === 1 ? "s" : ""}: pick another directory, or pass --force to overwrite`);
  }
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of files) writeFileSync(join(dir, name), text);
  return { dir, files: files.map(([name]) => name) };
}

export class InitError extends Error {}

/** What to type next, for people. */
export function nextSteps(dirArg: string | undefined): string {
  const cd = dirArg && resolve(dirArg) !== process.cwd() ? [`  cd ${dirArg}`] : [];
  return [
    `created tools.py (the adapter), test_tools.py and pyfleet.yaml in ${dirArg ?? basename(process.cwd())}`,
    "next:",
    ...cd,
    "  python -m pytest test_tools.py         # the adapter's tests (needs pyfleet-worker and pytest)",
    "  pyfleet doctor --config pyfleet.yaml   # Python, runtime, adapter import, port, providers",
    "  pyfleet serve --config pyfleet.yaml",
    `  pyfleet exec greet --args '{"name": "Ada"}'`,
  ].join("\n");
}
