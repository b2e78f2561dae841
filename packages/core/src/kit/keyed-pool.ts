import { unlessAborted } from "../abort.js";
import { BackendUnavailableError } from "../errors.js";

/** Why a resource leaves a {@link KeyedPool}. */
export type PoolExit =
  /** Unused for longer than `idleMs` (0: at its last release). */
  | "idle"
  /** Invalidated (gone, broken, saturated), closed once nobody uses it. */
  | "retired"
  /** Taken out on request ({@link KeyedPool.remove}), in use or not. */
  | "removed"
  /** The pool was disposed (an invalidated resource still in use then is "retired"). */
  | "disposed";

export interface KeyedPoolOptions<R> {
  /**
   * How long a resource nobody uses is kept before it is closed ("idle"): 0 closes it at its last
   * release; undefined keeps it until it is invalidated, removed, or the pool disposed.
   */
  idleMs?: number | undefined;
  /** Called every `everyMs` while a resource is in use: keeps a lease fresh, reports activity. */
  heartbeat?: { everyMs: number; beat(resource: R): void } | undefined;
  /**
   * Lets go of a resource leaving the pool (remove it, stop it, or only close a connection: the
   * reason says why). Called once per resource. It should handle its own errors: the pool waits
   * for it but ignores a rejection, but for {@link KeyedPool.remove}, which passes it on.
   */
  close(resource: R, reason: PoolExit): Promise<void> | void;
}

interface Lease {
  key: string | undefined;
  uses: number;
  retired: boolean;
  closed: boolean;
  idleTimer?: NodeJS.Timeout | undefined;
  beatTimer?: NodeJS.Timeout | undefined;
}

/**
 * Resources (containers, cloud sandboxes, connections) shared by key: the first `acquire` of a
 * key opens one (single flight: concurrent callers wait for the same opening; a failed opening is
 * not remembered), later ones reuse it; each use is paired with a `release`. A resource nobody
 * uses is closed after `idleMs`; an invalidated one is never handed out again and is closed once
 * its last user releases it; `dispose` closes what is left. Pure bookkeeping: what opening and
 * closing mean is the owner's business.
 */
export class KeyedPool<R extends object> {
  /** The opening, or the open resource, of each key. */
  private readonly pending = new Map<string, Promise<R>>();
  /** The resource each key's settled opening gave, while it serves the key. */
  private readonly current = new Map<string, R>();
  private readonly leases = new WeakMap<R, Lease>();
  private readonly open = new Set<R>();
  private readonly closing = new Set<Promise<void>>();
  private disposed = false;

  constructor(private readonly options: KeyedPoolOptions<R>) {}

  /**
   * The resource for `key`, opened with `opener` when the key has none (or only an invalidated
   * one). Rejects with CANCELLED when `signal` aborts first (the opening goes on for others), with
   * the opener's error when it fails, and with BACKEND_UNAVAILABLE after dispose. Pair with {@link release}.
   */
  async acquire(key: string, opener: () => Promise<R>, signal: AbortSignal): Promise<R> {
    for (;;) {
      if (this.disposed) throw new BackendUnavailableError("The sandbox pool has been disposed.");
      let pending = this.pending.get(key);
      if (!pending) {
        const opening = opener().then((resource) => this.adopt(key, resource));
        pending = opening;
        this.pending.set(key, opening);
        opening.catch(() => {
          if (this.pending.get(key) === opening) this.pending.delete(key);
        });
      }
      const resource = await unlessAborted(pending, signal);
      const lease = this.leaseOf(resource);
      if (lease.retired || lease.closed) {
        // Invalidated or closed while the caller waited: the key needs another.
        if (this.pending.get(key) === pending) this.pending.delete(key);
        continue;
      }
      lease.uses++;
      clearTimeout(lease.idleTimer);
      lease.idleTimer = undefined;
      const heartbeat = this.options.heartbeat;
      if (heartbeat && !lease.beatTimer) {
        lease.beatTimer = setInterval(() => heartbeat.beat(resource), heartbeat.everyMs);
        lease.beatTimer.unref();
      }
      return resource;
    }
  }

  /** Ends one use. The last one stops the heartbeat and starts the idle clock, or closes an invalidated resource. */
  release(resource: R): void {
    const lease = this.leaseOf(resource);
    if (lease.closed || lease.uses === 0) return;
    lease.uses--;
    if (lease.uses > 0) return;
    clearInterval(lease.beatTimer);
    lease.beatTimer = undefined;
    if (lease.retired) return void this.closeNow(resource, lease, "retired");
    const { idleMs } = this.options;
    if (idleMs === undefined) return;
    if (idleMs <= 0) return void this.closeNow(resource, lease, "idle");
    lease.idleTimer = setTimeout(() => {
      if (lease.uses === 0) void this.closeNow(resource, lease, "idle");
    }, idleMs);
    lease.idleTimer.unref();
  }

  /**
   * Marks a resource unusable: the next acquire of its key opens a fresh one; it is closed
   * ("retired") now when unused, else at its last release. True the first time (false when it was
   * invalidated or closed already), so that the owner reports it once. A resource still being
   * opened may be invalidated too (by a callback that fires early).
   */
  invalidate(resource: R): boolean {
    const lease = this.leaseOf(resource);
    if (lease.retired || lease.closed) return false;
    lease.retired = true;
    this.forgetKey(resource, lease);
    if (lease.uses === 0 && lease.key !== undefined) void this.closeNow(resource, lease, "retired");
    return true;
  }

  /** Closes a resource now ("removed"), in use or not; its users' next calls on it fail as the owner's close makes them. */
  remove(resource: R): Promise<void> {
    const lease = this.leaseOf(resource);
    if (lease.closed) return Promise.resolve();
    return this.closeNow(resource, lease, "removed");
  }

  /** How many acquires of this resource are not released yet. */
  uses(resource: R): number {
    return this.leases.get(resource)?.uses ?? 0;
  }

  /** True when the resource is not to be used again: invalidated, or closed. */
  isRetired(resource: R): boolean {
    const lease = this.leases.get(resource);
    return lease !== undefined && (lease.retired || lease.closed);
  }

  /** The resources opened and not closed yet, in use or not (invalidated ones still in use among them). */
  resources(): R[] {
    return [...this.open];
  }

  /**
   * Waits for openings under way, closes every resource left ("disposed"; "retired" for an
   * invalidated one still in use) and waits for every close. Acquire is refused after.
   */
  async dispose(): Promise<void> {
    this.disposed = true;
    // A resource still being opened (its caller was cancelled by the dispose) would outlive us: wait for it.
    await Promise.allSettled([...this.pending.values()]);
    for (const resource of [...this.open]) {
      const lease = this.leaseOf(resource);
      void this.closeNow(resource, lease, lease.retired ? "retired" : "disposed");
    }
    this.pending.clear();
    this.current.clear();
    await Promise.allSettled([...this.closing]);
  }

  private leaseOf(resource: R): Lease {
    let lease = this.leases.get(resource);
    if (!lease) {
      lease = { key: undefined, uses: 0, retired: false, closed: false };
      this.leases.set(resource, lease);
    }
    return lease;
  }

  /** Takes a freshly opened resource in; one invalidated while it was being opened is closed at once. */
  private adopt(key: string, resource: R): R {
    const lease = this.leaseOf(resource);
    lease.key = key;
    this.open.add(resource);
    this.current.set(key, resource);
    if (lease.retired) void this.closeNow(resource, lease, "retired");
    return resource;
  }

  /** The key no longer leads to this resource. */
  private forgetKey(resource: R, lease: Lease): void {
    if (lease.key === undefined || this.current.get(lease.key) !== resource) return;
    this.current.delete(lease.key);
    this.pending.delete(lease.key);
  }

  private closeNow(resource: R, lease: Lease, reason: PoolExit): Promise<void> {
    if (lease.closed) return Promise.resolve();
    lease.closed = true;
    clearTimeout(lease.idleTimer);
    clearInterval(lease.beatTimer);
    lease.idleTimer = lease.beatTimer = undefined;
    this.forgetKey(resource, lease);
    this.open.delete(resource);
    let closed: Promise<void>;
    try {
      closed = Promise.resolve(this.options.close(resource, reason));
    } catch (error) {
      closed = Promise.reject(error);
    }
    const tracked = closed.catch(() => {});
    this.closing.add(tracked);
    void tracked.finally(() => this.closing.delete(tracked));
    return closed;
  }
}
