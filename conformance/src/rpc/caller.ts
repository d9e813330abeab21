import { create, type DescMessage, type DescMethod, fromJson, type JsonObject, type JsonValue, type Message, toJson } from "@bufbuild/protobuf";
import { type Code, ConnectError, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { codeName as statusName } from "@pyfleet/sdk";
import { ToolErrorSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/error_pb";
import { type Channel, ClientError, createChannel, createClientFactory, Metadata, Status } from "nice-grpc";
import { deadlineMiddleware } from "nice-grpc-client-middleware-deadline";
import { niceGrpcDefinition } from "../grpc/nice-grpc-definition.js";
import { toolErrorFromStatusDetails } from "./status-details.js";

export type Protocol = "connect" | "grpc" | "grpc-web";

export interface CallSpec {
  method: DescMethod;
  /** Unary and server-streaming input. */
  request?: JsonObject;
  /** Client- and bidi-streaming input. */
  requests?: JsonObject[];
  apiKey?: string;
  timeoutMs?: number;
  cancelAfterMessages?: number;
  cancelAfterMs?: number;
  /** Bidi streams: send every request at once instead of each after the previous one's answer. */
  pipelined?: boolean;
}

/**
 * The code of an outcome that never came from the target: the runner or its
 * client library threw (a request that does not encode, a response that does
 * not decode). No expectation names it, so no step can pass on the runner's
 * own failure (UNKNOWN would otherwise pass for "the tool raised").
 */
export const CLIENT_ERROR = "CLIENT_ERROR";

/** What came back, in proto JSON, whatever the protocol. */
export interface CallOutcome {
  /** "OK", "NOT_FOUND", ..., or CLIENT_ERROR. */
  code: string;
  message: string;
  response?: JsonValue;
  messages: JsonValue[];
  toolError?: JsonValue;
}

export interface Caller {
  call(spec: CallSpec): Promise<CallOutcome>;
  close(): void;
}

const JSON_OPTIONS = { alwaysEmitImplicit: true } as const;

export function codeName(code: Code | Status | number): string {
  return statusName(code).toUpperCase();
}

function parseInput(method: DescMethod, json: JsonObject | undefined): Message {
  try {
    return fromJson(method.input as DescMessage, json ?? {}, { ignoreUnknownFields: false });
  } catch (e) {
    throw new Error(`the request for ${method.parent.name}/${method.name} does not parse: ${(e as Error).message}`);
  }
}

function headersFor(apiKey: string | undefined): Record<string, string> {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}

async function* asAsync<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

/**
 * The request stream of a bidi call sent in lock step: each request after
 * the previous one has been answered, so answers arrive in request order.
 */
class LockStep {
  private answered = 0;
  private wake: (() => void) | undefined;

  received(): void {
    this.answered++;
    this.wake?.();
  }

  /** Stops waiting once the call is over (an answer may never come). */
  finish(): void {
    this.answered = Number.POSITIVE_INFINITY;
    this.wake?.();
  }

  async *feed<T>(items: T[]): AsyncGenerator<T> {
    for (const [i, item] of items.entries()) {
      while (this.answered < i) await new Promise<void>((resolve) => (this.wake = resolve));
      if (this.answered === Number.POSITIVE_INFINITY) return;
      yield item;
    }
  }
}

/** Runs a call with cancellation points, collecting messages as proto JSON. */
async function collect(
  spec: CallSpec,
  start: (signal: AbortSignal, feed: <T>(items: T[]) => AsyncIterable<T>) => Promise<{ unary?: Message; stream?: AsyncIterable<Message> }>,
  toError: (e: unknown) => Pick<CallOutcome, "code" | "message" | "toolError">,
): Promise<CallOutcome> {
  const abort = new AbortController();
  const lockStep = spec.method.methodKind === "bidi_streaming" && !spec.pipelined ? new LockStep() : undefined;
  const feed = <T>(items: T[]): AsyncIterable<T> => (lockStep ? lockStep.feed(items) : asAsync(items));
  const timer = spec.cancelAfterMs !== undefined ? setTimeout(() => abort.abort(), spec.cancelAfterMs) : undefined;
  const output = spec.method.output as DescMessage;
  const messages: JsonValue[] = [];
  try {
    const started = await start(abort.signal, feed);
    if (started.unary) return { code: "OK", message: "", response: toJson(output, started.unary, JSON_OPTIONS), messages };
    for await (const message of started.stream!) {
      messages.push(toJson(output, message, JSON_OPTIONS));
      lockStep?.received();
      if (spec.cancelAfterMessages !== undefined && messages.length >= spec.cancelAfterMessages) abort.abort();
    }
    return { code: "OK", message: "", messages };
  } catch (e) {
    return { ...toError(e), messages };
  } finally {
    clearTimeout(timer);
    lockStep?.finish();
  }
}

/** Connect and gRPC-Web through connect-node over HTTP/2. */
export function connectCaller(baseUrl: string, protocol: "connect" | "grpc-web"): Caller {
  const transport: Transport = protocol === "connect"
    ? createConnectTransport({ baseUrl, httpVersion: "2" })
    : createGrpcWebTransport({ baseUrl, httpVersion: "2" });
  const toError = (e: unknown) => {
    // connect-es reports what the server sent, aborts and transport failures as ConnectError; anything else is ours.
    if (!(e instanceof ConnectError) && (e as Error)?.name !== "AbortError") return { code: CLIENT_ERROR, message: (e as Error)?.message ?? String(e) };
    const err = ConnectError.from(e);
    const [detail] = err.findDetails(ToolErrorSchema);
    const outcome: Pick<CallOutcome, "code" | "message" | "toolError"> = { code: codeName(err.code), message: err.rawMessage };
    if (detail) outcome.toolError = toJson(ToolErrorSchema, detail);
    return outcome;
  };
  return {
    call(spec) {
      const header = headersFor(spec.apiKey);
      const kind = spec.method.methodKind;
      return collect(spec, async (signal, feed) => {
        if (kind === "unary") {
          const res = await transport.unary(spec.method as never, signal, spec.timeoutMs, header, parseInput(spec.method, spec.request) as never);
          return { unary: res.message as Message };
        }
        const inputs = kind === "server_streaming" ? [parseInput(spec.method, spec.request)] : (spec.requests ?? []).map((r) => parseInput(spec.method, r));
        const res = await transport.stream(spec.method as never, signal, spec.timeoutMs, header, feed(inputs) as never);
        return { stream: res.message as AsyncIterable<Message> };
      }, toError);
    },
    close() {},
  };
}

/** gRPC through nice-grpc on grpc-js: an independent stack, so a pass means real gRPC clients work. */
export function grpcCaller(baseUrl: string): Caller {
  const url = new URL(baseUrl);
  const channel: Channel = createChannel(`${url.hostname}:${url.port}`);
  const clients = new Map<string, Record<string, (...args: unknown[]) => unknown>>();
  const clientFor = (method: DescMethod) => {
    let client = clients.get(method.parent.typeName);
    if (!client) {
      client = createClientFactory().use(deadlineMiddleware).create(niceGrpcDefinition(method.parent as never), channel) as never;
      clients.set(method.parent.typeName, client!);
    }
    return client!;
  };
  return {
    call(spec) {
      const kind = spec.method.methodKind;
      const fn = clientFor(spec.method)[spec.method.localName]!;
      let toolError: JsonValue | undefined;
      const toError = (e: unknown) => {
        if (e instanceof ClientError) {
          const outcome: Pick<CallOutcome, "code" | "message" | "toolError"> = { code: codeName(e.code), message: e.details };
          if (toolError !== undefined) outcome.toolError = toolError;
          return outcome;
        }
        if ((e as Error)?.name === "AbortError") return { code: "CANCELED", message: "cancelled by the runner" };
        return { code: CLIENT_ERROR, message: (e as Error)?.message ?? String(e) };
      };
      return collect(spec, async (signal, feed) => {
        // A real grpc-timeout header, so the server sees the deadline as any gRPC client would send it.
        const options = {
          signal,
          onTrailer: (trailer: Metadata) => {
            toolError = toolErrorFromStatusDetails(trailer.get("grpc-status-details-bin"));
          },
          metadata: Metadata(headersFor(spec.apiKey)),
          // The deadline middleware passes an undefined deadline straight through.
          deadline: spec.timeoutMs !== undefined ? new Date(Date.now() + spec.timeoutMs) : undefined,
        };
        const toInit = (m: Message) => create(spec.method.input as DescMessage, m as never);
        if (kind === "unary") return { unary: (await fn(toInit(parseInput(spec.method, spec.request)), options)) as Message };
        if (kind === "server_streaming") return { stream: fn(toInit(parseInput(spec.method, spec.request)), options) as AsyncIterable<Message> };
        const inputs = (spec.requests ?? []).map((r) => toInit(parseInput(spec.method, r)));
        if (kind === "client_streaming") return { unary: (await fn(asAsync(inputs), options)) as Message };
        return { stream: fn(feed(inputs), options) as AsyncIterable<Message> };
      }, toError);
    },
    close() {
      channel.close();
    },
  };
}

export function createCaller(baseUrl: string, protocol: Protocol): Caller {
  return protocol === "grpc" ? grpcCaller(baseUrl) : connectCaller(baseUrl, protocol);
}

export { Status };
