import { z } from "zod";
import { computeDefaults as d } from "../config/defaults.js";

const int = (min: number) => z.number().int().min(min);
const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be 1-63 lowercase letters, digits, '-' or '_'");
const budget = z.object({
  /** Computes running at once (stopped ones do not count). */
  maxComputes: int(0).optional(),
  /** US dollars per hour across running computes. */
  maxCostPerHour: z.number().min(0).optional(),
}).strict();

/** A provider of the server's config. */
export const providerConfigSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("mock"), name: name.default("mock") }).strict(),
  z.object({
    kind: z.literal("local"),
    name: name.default("local"),
    /** The Python worker groups run with; default the pools' default. */
    python: z.string().min(1).optional(),
  }).strict(),
  z.object({
    kind: z.literal("runpod"),
    name: name.default("runpod"),
    /** Default: the RUNPOD_API_KEY environment variable. */
    apiKey: z.string().min(1).optional(),
    restUrl: z.string().url().default(d.runpodRestUrl),
    serverlessUrl: z.string().url().default(d.runpodServerlessUrl),
    proxyUrl: z.string().default(d.runpodProxyUrl),
    probePorts: z.boolean().default(true),
    retries: int(0).default(d.providerRetries),
    minBackoffMs: int(0).default(d.providerMinBackoffMs),
    maxBackoffMs: int(0).default(d.providerMaxBackoffMs),
    timeoutMs: int(1).default(d.providerTimeoutMs),
    streamPollMs: int(1).default(d.runpodStreamPollMs),
  }).strict(),
  z.object({
    kind: z.literal("remote"),
    name,
    /** A ProviderService endpoint, e.g. https://provider.example.com */
    url: z.string().url(),
    apiKey: z.string().min(1).optional(),
    timeoutMs: int(1).default(d.providerTimeoutMs),
    probePorts: z.boolean().default(false),
  }).strict(),
]);

export const computeConfigSchema = z.object({
  providers: z.array(providerConfigSchema).default([{ kind: "mock", name: "mock" }, { kind: "local", name: "local" }]),
  defaultProvider: z.string().default(d.defaultProvider),
  pollIntervalMs: int(1).default(d.pollIntervalMs),
  idleSweepMs: int(1).default(d.idleSweepMs),
  reaperIntervalMs: int(0).default(d.reaperIntervalMs),
  waitTimeoutMs: int(1).default(d.waitTimeoutMs),
  /** Per tenant (API key name; "" when auth is off). */
  budgets: z.record(z.string(), budget).default({}),
  /** For tenants without their own entry. */
  defaultBudget: budget.optional(),
}).strict();

export type ProviderConfig = z.output<typeof providerConfigSchema>;
export type ComputeConfig = z.output<typeof computeConfigSchema>;
export type ComputeConfigInput = z.input<typeof computeConfigSchema>;
