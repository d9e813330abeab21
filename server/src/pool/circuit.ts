export type CircuitState = "closed" | "open" | "probing";

export interface CircuitOptions {
  /** Startup failures in a row that open the circuit. */
  threshold: number;
  /** The first wait before probing; it doubles each time a probe fails. */
  cooldownMs: number;
  /** The longest wait between probes. */
  maxCooldownMs: number;
}

export interface CircuitHooks {
  /** The circuit opened, from closed or after a failed probe (not again while it is open). */
  opened(): void;
  /** The cooldown passed: time to try one worker. */
  probe(): void;
}

/**
 * The pool's startup circuit breaker, a state machine over worker startup
 * outcomes: `threshold` failures in a row open it (no new starts); after a
 * cooldown it probes with one worker; a failed probe reopens it with twice
 * the cooldown, a worker that starts closes it. It starts nothing itself.
 */
export class CircuitBreaker {
  state: CircuitState = "closed";
  /** Startup failures since the last worker that started. */
  failures = 0;
  /** What the last failure was, for people. */
  lastError = "";
  /** The wait before the next probe. */
  cooldownMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: CircuitOptions,
    private readonly hooks: CircuitHooks,
  ) {
    this.cooldownMs = options.cooldownMs;
  }

  get open(): boolean {
    return this.state === "open";
  }

  /** A worker failed to start; opens the circuit at the threshold, or when a probe failed. */
  failed(description: string): void {
    this.failures++;
    this.lastError = description;
    if (this.state === "probing" || this.failures >= this.options.threshold) this.trip();
  }

  /** A worker started: closes the circuit. True if it was not closed. */
  succeeded(): boolean {
    this.failures = 0;
    if (this.state === "closed") return false;
    this.state = "closed";
    this.cooldownMs = this.options.cooldownMs;
    clearTimeout(this.timer);
    return true;
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private trip(): void {
    const wasOpen = this.state === "open";
    this.state = "open";
    const cooldown = this.cooldownMs;
    this.cooldownMs = Math.min(this.options.maxCooldownMs, cooldown * 2);
    if (!wasOpen) this.hooks.opened();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.state = "probing";
      this.hooks.probe();
    }, cooldown);
    this.timer.unref();
  }
}
