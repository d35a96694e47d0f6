import type { Logger } from '../../lib/log.js';
import type { VariantLabels } from './gateway-metrics.js';
import type { RouteScaleToZero } from './route-table.js';

/**
 * What a platform does for a variant that may sleep. The gateway signals demand through it and
 * (where the platform does not scale down by itself) asks it to put an idle variant to sleep.
 */
export interface Waker {
  /**
   * Demand for a sleeping variant: start it (a process, a container, replicas). Resolves once the
   * variant answers on its ready path; rejects with an Error whose message says why it cannot start.
   * Called once per wake-up, never per request.
   */
  wake(target: WakeTarget): Promise<void>;
  /** The variant had no request for idleSeconds: stop it. Absent where the platform scales down itself (KEDA's cooldown). */
  sleep?(target: WakeTarget): Promise<void>;
}

export interface WakeTarget {
  readonly deployName: string;
  /** Base URL of the variant's model server, as in the route table. */
  readonly upstream: string;
  readonly readyPath: string;
  /** performance.now() after which nobody waits for this wake-up any more. */
  readonly deadline: number;
}

/** One request held while its variant wakes. */
export interface HeldCall {
  /** performance.now() when the request was held. */
  readonly heldAt: number;
  /** The variant is ready: send the request now; `holdMs` is how long it waited. */
  release(holdMs: number): void;
  /** The deadline passed (or the gateway closes): answer 503 with Retry-After and `reason`. */
  expire(reason: string): void;
}

/** Upper bounds (seconds) of the hold-time histogram: a warm container wakes in well under a second, a cold pod in tens of seconds. */
export const HOLD_BUCKETS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 30, 60];
/** Seconds a caller turned away is told to wait before trying again. */
export const RETRY_AFTER_SECONDS = 1;
/** A request this recent still counts as demand (see ColdStartGate.demand); three KEDA polls of the generated ScaledObject. */
export const RECENT_DEMAND_MS = 15_000;
/** A wake-up that failed is not tried again sooner than this, so a broken model is not restarted in a loop. */
const WAKE_RETRY_MS = 1_000;

/**
 * The sleep/wake state of one variant that may scale to zero, bound to it when a route table is
 * compiled (and kept across reloads, like its counters). While `open`, requests pass straight
 * through and only bump two counters. Once the variant is asleep (the gateway put it to sleep, or
 * a request found nothing listening), requests are held here in arrival order, the waker is asked
 * once, and when the variant is ready the held requests go out `concurrency` at a time, each next
 * one as an earlier one finishes. The gate opens again when the queue is empty, so a request that
 * arrives during the release waits its turn behind those held before it.
 */
export class ColdStartGate {
  /** Requests go straight to the upstream (the hot path reads only this). */
  open = true;
  /** Requests of this variant between their arrival and their answer (held ones included). */
  inFlight = 0;
  /** Requests seen; the idle sweep compares it between sweeps instead of reading a clock per request. */
  activity = 0;
  /** Wake-ups that had a request waiting (the cold starts counter). */
  coldStarts = 0;
  /** Hold times: count per bucket (not cumulative), the last slot is +Inf. */
  readonly holdBuckets = new Float64Array(HOLD_BUCKETS.length + 1);
  holdSum = 0;
  holdCount = 0;
  /** Requests answered 503 because the queue was full or the deadline passed. */
  turnedAway = 0;

  readonly #queue: HeldCall[] = [];
  #head = 0;
  /** Released requests that have not finished yet. */
  #releasing = 0;
  #waking = false;
  #ready = false;
  #asleep = false;
  #lastFailure: string | undefined;
  #lastFailureAt = -Infinity;
  #idleSince = 0;
  #lastActivity = -1;
  #sleeping = false;

  constructor(
    /** Replaced when a reloaded table changes the variant's settings. */
    public spec: RouteScaleToZero,
    readonly deployName: string,
    readonly upstream: string,
    readonly labels: VariantLabels,
    private readonly waker: Waker,
    private readonly logger: Logger,
  ) {}

  /** Requests held now. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  /** Whether the variant is known to be asleep (put to sleep by the gateway, or found not listening). */
  get asleep(): boolean {
    return this.#asleep;
  }

  /** Holds a request; false when maxPending are held already (the caller answers 503 at once). */
  hold(call: HeldCall): boolean {
    if (this.pending >= this.spec.maxPending) {
      this.turnedAway += 1;
      return false;
    }
    this.#queue.push(call);
    if (this.#ready) this.#releaseMore();
    else this.#wake();
    return true;
  }

  /** A held request's caller went away before it was released. */
  drop(call: HeldCall): void {
    const i = this.#queue.indexOf(call, this.#head);
    if (i !== -1) this.#queue.splice(i, 1);
  }

  /** A request found nothing listening on an open gate: the variant is asleep (scaled down by the platform, or stopped). */
  markAsleep(): void {
    if (!this.open) return;
    this.open = false;
    this.#ready = false;
    this.#asleep = true;
  }

  /** A released request finished: let the next held one go. */
  releasedDone(): void {
    this.#releasing -= 1;
    this.#releaseMore();
  }

  /**
   * Called about once a second: answers held requests whose deadline passed, and puts a variant to
   * sleep that saw no request for idleSeconds (when the waker can). `now` is performance.now().
   * A gate whose variant left the route table (`inTable` false) only answers its held requests:
   * the instance it knew may now serve under another address.
   */
  sweep(now: number, inTable = true): void {
    const deadline = now - this.spec.maxHoldMs;
    while (this.pending > 0 && (this.#queue[this.#head] as HeldCall).heldAt <= deadline) {
      const call = this.#queue[this.#head] as HeldCall;
      this.#queue[this.#head++] = undefined as unknown as HeldCall;
      this.turnedAway += 1;
      call.expire(this.#expiryReason());
    }
    this.#compact();
    if (this.activity !== this.#lastActivity || this.inFlight > 0 || this.pending > 0) {
      this.#lastActivity = this.activity;
      this.#idleSince = now;
      return;
    }
    if (inTable && this.open && this.waker.sleep !== undefined && !this.#sleeping && now - this.#idleSince >= this.spec.idleSeconds * 1000) this.#sleep();
  }

  /**
   * What a scaler reads (GET /-/demand/<deployName>): held plus in-flight requests, plus one while
   * a request arrived within RECENT_DEMAND_MS. The last part keeps a model with light traffic
   * (a request every few seconds, each over in milliseconds) from looking idle to a scaler that
   * polls between requests; idleness itself is the scaler's cooldown (idleSeconds).
   */
  demand(now: number): { demand: number; pending: number; inFlight: number; recent: boolean } {
    const recent = this.activity !== this.#lastActivity || now - this.#idleSince < RECENT_DEMAND_MS;
    return { demand: this.pending + this.inFlight + (recent ? 1 : 0), pending: this.pending, inFlight: this.inFlight, recent };
  }

  /** Answers every held request (the gateway is closing). */
  expireAll(reason: string): void {
    while (this.pending > 0) {
      const call = this.#queue[this.#head] as HeldCall;
      this.#queue[this.#head++] = undefined as unknown as HeldCall;
      call.expire(reason);
    }
    this.#compact();
  }

  #expiryReason(): string {
    const waited = `no instance of ${this.deployName} became ready within ${this.spec.maxHoldMs} ms (scaleToZero.maxHoldMs)`;
    return this.#lastFailure === undefined ? waited : `${waited}: ${this.#lastFailure}`;
  }

  #wake(): void {
    if (this.#waking) return;
    const now = performance.now();
    // After a failed start, retry no sooner than WAKE_RETRY_MS; the sweep tries again meanwhile.
    if (now - this.#lastFailureAt < WAKE_RETRY_MS) {
      setTimeout(() => { if (this.pending > 0 && !this.#ready) this.#wake(); }, WAKE_RETRY_MS - (now - this.#lastFailureAt)).unref();
      return;
    }
    this.#waking = true;
    this.open = false;
    this.coldStarts += 1;
    const target: WakeTarget = { deployName: this.deployName, upstream: this.upstream, readyPath: this.spec.readyPath, deadline: now + this.spec.maxHoldMs };
    this.waker.wake(target).then(
      () => {
        this.#waking = false;
        this.#asleep = false;
        this.#ready = true;
        this.#lastFailure = undefined;
        this.logger.info({ ...this.labels, wokeAfterMs: Math.round(performance.now() - now), held: this.pending }, 'variant woke up; releasing held requests');
        this.#releaseMore();
      },
      (err: unknown) => {
        this.#waking = false;
        this.#lastFailure = err instanceof Error ? err.message : String(err);
        this.#lastFailureAt = performance.now();
        this.logger.warn({ ...this.labels, reason: this.#lastFailure }, 'variant failed to wake; held requests get 503 at their deadline');
        if (this.pending > 0) this.#wake();
      },
    );
  }

  #sleep(): void {
    this.#sleeping = true;
    this.open = false;
    this.#ready = false;
    this.#asleep = true;
    const target: WakeTarget = { deployName: this.deployName, upstream: this.upstream, readyPath: this.spec.readyPath, deadline: performance.now() + this.spec.maxHoldMs };
    (this.waker.sleep as (t: WakeTarget) => Promise<void>)(target).then(
      () => {
        this.#sleeping = false;
        this.logger.info({ ...this.labels, idleSeconds: this.spec.idleSeconds }, 'variant idle; put to sleep');
        if (this.pending > 0) this.#wake();
      },
      (err: unknown) => {
        this.#sleeping = false;
        this.logger.warn({ ...this.labels, reason: err instanceof Error ? err.message : String(err) }, 'could not put an idle variant to sleep');
        if (this.pending > 0) this.#wake();
      },
    );
  }

  #releaseMore(): void {
    while (this.#ready && this.#releasing < this.spec.concurrency && this.pending > 0) {
      const call = this.#queue[this.#head] as HeldCall;
      this.#queue[this.#head++] = undefined as unknown as HeldCall;
      this.#releasing += 1;
      const holdMs = performance.now() - call.heldAt;
      this.#recordHold(holdMs / 1000);
      call.release(holdMs);
    }
    this.#compact();
    if (this.#ready && this.pending === 0 && this.#releasing === 0 && !this.#sleeping) this.open = true;
  }

  #recordHold(seconds: number): void {
    let i = 0;
    while (i < HOLD_BUCKETS.length && seconds > (HOLD_BUCKETS[i] as number)) i++;
    this.holdBuckets[i] = (this.holdBuckets[i] as number) + 1;
    this.holdSum += seconds;
    this.holdCount += 1;
  }

  #compact(): void {
    if (this.#head > 0 && this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
