import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hello } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import { FrameDecoder } from "./framing.js";
import type { Link } from "./link.js";
import { SocketLink } from "./socket-link.js";

/** Called when a worker presents an expected token. */
export type HelloHandler = (hello: Hello, link: Link) => void;

/** A worker that connects must say Hello within this time. */
const HELLO_TIMEOUT_MS = 10_000;

/**
 * The private Unix socket local workers connect to. It lives in a fresh 0700
 * directory, and a connection is only accepted when its first frame is a
 * Hello with a one-time token the server handed out.
 */
export class LinkServer {
  private readonly expected = new Map<string, HelloHandler>();

  private constructor(
    private readonly server: net.Server,
    private readonly dir: string,
    readonly path: string,
  ) {}

  static async start(): Promise<LinkServer> {
    // mkdtemp creates the directory with mode 0700.
    const dir = mkdtempSync(join(tmpdir(), "pyfleet-"));
    const path = join(dir, "link.sock");
    let self: LinkServer | undefined;
    const server = net.createServer((socket) => self?.accept(socket));
    server.listen(path);
    await once(server, "listening");
    self = new LinkServer(server, dir, path);
    return self;
  }

  /** A fresh token; the worker that presents it is handed to `handler` (once). */
  issue(handler: HelloHandler): { token: string; revoke: () => void } {
    const token = randomBytes(24).toString("base64url");
    this.expected.set(token, handler);
    return { token, revoke: () => this.expected.delete(token) };
  }

  async close(): Promise<void> {
    this.expected.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private accept(socket: net.Socket) {
    const decoder = new FrameDecoder();
    const timer = setTimeout(() => socket.destroy(), HELLO_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch {
        clearTimeout(timer);
        socket.destroy();
        return;
      }
      if (frames.length === 0) return;
      socket.off("data", onData);
      clearTimeout(timer);
      const [first, ...rest] = frames;
      const hello = first?.frame.case === "hello" ? first.frame.value : undefined;
      const handler = hello && this.expected.get(hello.token);
      if (!hello || !handler) {
        socket.destroy();
        return;
      }
      this.expected.delete(hello.token);
      handler(hello, new SocketLink(socket, decoder, rest));
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  }
}
