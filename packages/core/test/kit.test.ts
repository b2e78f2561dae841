// The backend toolkit's pure parts: the keyed pool's bookkeeping, the run tracker, sleep and labels.
// Real short timers, no engine: a backend's own tests cover what opening and closing mean.
import { setTimeout as delay } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { ErrorCode, StigmerError } from "../src/errors.js";
import { KeyedPool, type PoolExit } from "../src/kit/keyed-pool.js";
import { MANAGED_BY, ownerShown, reuseKey, SANDBOX_LABELS, sandboxLabels } from "../src/kit/labels.js";
import { RunTracker } from "../src/kit/run-tracker.js";
import { sleep, within } from "../src/kit/sleep.js";
import { PROCESS_OWNER } from "../src/owner.js";

interface Thing {
  id: number;
  key: string;
}

/** A pool of plain objects that records every opening and closing. */
function thingPool(options: { idleMs?: number; heartbeatMs?: number; openMs?: number; fail?: (key: string) => boolean } = {}) {
  const opened: Thing[] = [];
  const closed: Array<{ id: number; reason: PoolExit }> = [];
  const beats: number[] = [];
  let next = 1;
  const pool = new KeyedPool<Thing>({
    idleMs: options.idleMs,
    ...(options.heartbeatMs ? { heartbeat: { everyMs: options.heartbeatMs, beat: (t: Thing) => beats.push(t.id) } } : {}),
    close: (thing, reason) => {
      closed.push({ id: thing.id, reason });
    },
  });
  const opener = (key: string) => async () => {
    if (options.openMs) await delay(options.openMs);
    if (options.fail?.(key)) throw new Error(`cannot open ${key}`);
    const thing = { id: next++, key };
    opened.push(thing);
    return thing;
  };
  const signal = new AbortController().signal;
  const acquire = (key: string, s: AbortSignal = signal) => pool.acquire(key, opener(key), s);
  return { pool, opened, closed, beats, acquire };
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe("KeyedPool", () => {
  it("opens one resource per key for concurrent acquires (single flight) and reuses it after release", async () => {
    const { pool, opened, acquire } = thingPool({ openMs: 20 });
    const [a, b, c] = await Promise.all([acquire("k"), acquire("k"), acquire("other")]);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(opened).toHaveLength(2);
    expect(pool.uses(a)).toBe(2);
    pool.release(a);
    pool.release(b);
    expect(pool.uses(a)).toBe(0);
    expect(await acquire("k")).toBe(a);
    expect(opened).toHaveLength(2);
    expect(pool.resources()).toEqual(expect.arrayContaining([a, c]));
  });

  it("does not remember a failed opening: the next acquire tries again", async () => {
    let failing = true;
    const { opened, acquire } = thingPool({ fail: () => failing });
    const [first, second] = await Promise.all([errorOf(acquire("k")), errorOf(acquire("k"))]);
    expect((first as Error).message).toBe("cannot open k");
    expect(second).toBe(first);
    failing = false;
    const thing = await acquire("k");
    expect(opened).toEqual([thing]);
  });

  it("closes a resource unused for idleMs, and not one acquired again before", async () => {
    const { pool, closed, acquire } = thingPool({ idleMs: 60 });
    const a = await acquire("k");
    pool.release(a);
    await delay(20);
    expect(await acquire("k")).toBe(a); // the idle clock stops
    await delay(80);
    expect(closed).toEqual([]);
    pool.release(a);
    await delay(100);
    expect(closed).toEqual([{ id: a.id, reason: "idle" }]);
    const b = await acquire("k");
    expect(b).not.toBe(a);
  });

  it("with idleMs 0 closes a resource at its last release; without idleMs keeps it", async () => {
    const now = thingPool({ idleMs: 0 });
    const a = await now.acquire("k");
    await now.acquire("k");
    now.pool.release(a);
    expect(now.closed).toEqual([]);
    now.pool.release(a);
    expect(now.closed).toEqual([{ id: a.id, reason: "idle" }]);

    const kept = thingPool();
    const b = await kept.acquire("k");
    kept.pool.release(b);
    await delay(30);
    expect(kept.closed).toEqual([]);
    expect(await kept.acquire("k")).toBe(b);
  });

  it("never hands out an invalidated resource, and closes it once its last user releases it", async () => {
    const { pool, closed, acquire } = thingPool();
    const a = await acquire("k");
    expect(pool.invalidate(a)).toBe(true);
    expect(pool.invalidate(a)).toBe(false); // reported once
    expect(pool.isRetired(a)).toBe(true);
    const b = await acquire("k");
    expect(b).not.toBe(a);
    expect(closed).toEqual([]); // still in use
    pool.release(a);
    expect(closed).toEqual([{ id: a.id, reason: "retired" }]);
    expect(pool.resources()).toEqual([b]);
    // An unused resource is closed at once.
    pool.release(b);
    pool.invalidate(b);
    expect(closed).toEqual([
      { id: a.id, reason: "retired" },
      { id: b.id, reason: "retired" },
    ]);
  });

  it("closes a resource invalidated while it was being opened, and opens another for its waiters", async () => {
    let early: Thing | undefined;
    let next = 1;
    const closed: number[] = [];
    const pool = new KeyedPool<Thing>({ close: (t) => void closed.push(t.id) });
    const opener = async () => {
      const thing = { id: next++, key: "k" };
      if (!early) {
        early = thing;
        pool.invalidate(thing); // e.g. its connection dropped before the opening returned
      }
      return thing;
    };
    const got = await pool.acquire("k", opener, new AbortController().signal);
    expect(got.id).toBe(2);
    expect(closed).toEqual([1]);
  });

  it("lets a cancelled caller go while the opening goes on for the others", async () => {
    const { pool, opened, acquire } = thingPool({ openMs: 40 });
    const cancel = new AbortController();
    const cancelled = errorOf(acquire("k", cancel.signal));
    const waiting = acquire("k");
    cancel.abort();
    expect(StigmerError.isInstance(await cancelled) && ((await cancelled) as StigmerError).code).toBe(ErrorCode.CANCELLED);
    const thing = await waiting;
    expect(opened).toEqual([thing]);
    expect(pool.uses(thing)).toBe(1);
  });

  it("beats while a resource is in use, and stops when it is released", async () => {
    const { pool, beats, acquire } = thingPool({ heartbeatMs: 10 });
    const a = await acquire("k");
    await delay(55);
    const whileUsed = beats.length;
    expect(whileUsed).toBeGreaterThanOrEqual(2);
    pool.release(a);
    await delay(40);
    expect(beats.length).toBe(whileUsed);
  });

  it("remove closes a resource in use at once; its later release is harmless", async () => {
    const { pool, closed, acquire } = thingPool({ idleMs: 0 });
    const a = await acquire("k");
    await pool.remove(a);
    expect(closed).toEqual([{ id: a.id, reason: "removed" }]);
    pool.release(a);
    expect(pool.invalidate(a)).toBe(false);
    expect(closed).toHaveLength(1);
    expect(await acquire("k")).not.toBe(a);
  });

  it("remove passes on the close's failure", async () => {
    const pool = new KeyedPool<Thing>({
      close: async () => {
        throw new Error("engine said no");
      },
    });
    const a = await pool.acquire("k", async () => ({ id: 1, key: "k" }), new AbortController().signal);
    expect(((await errorOf(pool.remove(a))) as Error).message).toBe("engine said no");
  });

  it("dispose waits for openings under way, closes everything left and waits for the closes; acquire is refused after", async () => {
    const closes: string[] = [];
    const pool = new KeyedPool<Thing>({
      idleMs: 0,
      close: async (thing, reason) => {
        await delay(20);
        closes.push(`${thing.id}:${reason}`);
      },
    });
    const signal = new AbortController().signal;
    const a = await pool.acquire("a", async () => ({ id: 1, key: "a" }), signal);
    const slow = pool.acquire("b", () => delay(30).then(() => ({ id: 2, key: "b" })), signal);
    await pool.dispose();
    expect(closes.sort()).toEqual(["1:disposed", "2:disposed"]);
    await slow; // it was opened, and closed by the dispose
    pool.release(a);
    expect(closes).toHaveLength(2);
    const refused = await errorOf(pool.acquire("a", async () => ({ id: 3, key: "a" }), signal));
    expect((refused as StigmerError).code).toBe(ErrorCode.BACKEND_UNAVAILABLE);
  });
});

describe("RunTracker", () => {
  it("aborts running tasks at dispose, waits until they settle, then cleans up once; later runs are refused", async () => {
    const runs = new RunTracker({ disposed: "The test backend has been disposed." });
    const order: string[] = [];
    const callerSignal = new AbortController().signal;
    const task = runs.run(callerSignal, (signal) => {
      expect(signal).not.toBe(callerSignal);
      return new Promise<string>((resolve) =>
        signal.addEventListener("abort", () => {
          setTimeout(() => {
            order.push("task settled");
            resolve("stopped");
          }, 20);
        }),
      );
    });
    expect(runs.size).toBe(1);
    const cleanup = () => void order.push("cleanup");
    const first = runs.dispose(cleanup);
    expect(runs.disposed).toBe(true);
    const second = runs.dispose(cleanup);
    expect(second).toBe(first); // idempotent: the same promise
    await first;
    expect(await task).toBe("stopped");
    expect(order).toEqual(["task settled", "cleanup"]);
    expect(runs.size).toBe(0);
    let called = false;
    const refused = await errorOf(
      runs.run(undefined, async () => {
        called = true;
      }),
    );
    expect(called).toBe(false);
    expect(StigmerError.isInstance(refused)).toBe(true);
    expect((refused as StigmerError).code).toBe(ErrorCode.BACKEND_UNAVAILABLE);
    expect((refused as StigmerError).message).toBe("The test backend has been disposed.");
    expect(((await errorOf(runs.whileOpen(async () => 1))) as StigmerError).code).toBe(ErrorCode.BACKEND_UNAVAILABLE);
  });

  it("passes the caller's abort to the task, and the shutdown reason at dispose", async () => {
    const reason = new Error("shutting down");
    const runs = new RunTracker({ disposed: "gone", shutdownReason: reason });
    const caller = new AbortController();
    const seen: unknown[] = [];
    const task = runs.run(caller.signal, (signal) => new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve())));
    caller.abort();
    await task;
    expect(runs.size).toBe(0);
    const untracked = runs.run(
      undefined,
      (signal) =>
        new Promise<void>((resolve) =>
          signal.addEventListener("abort", () => {
            seen.push(signal.reason);
            resolve();
          }),
        ),
    );
    await runs.dispose();
    await untracked;
    expect(seen).toEqual([reason]);
  });

  it("exec hands the task the request with a signal that aborts at dispose too", async () => {
    const runs = new RunTracker({ disposed: "gone" });
    const caller = new AbortController();
    const request = { id: "r1", signal: caller.signal };
    let seen: { id: string; signal: AbortSignal } | undefined;
    const task = runs.exec(request, (r) => {
      seen = r;
      return new Promise<string>((resolve) => r.signal.addEventListener("abort", () => resolve("stopped")));
    });
    expect(seen?.id).toBe("r1");
    expect(seen?.signal).not.toBe(caller.signal);
    await runs.dispose();
    expect(await task).toBe("stopped");
    expect(caller.signal.aborted).toBe(false);
  });

  it("turns a task that throws at once into a rejection, and a failed task does not fail dispose", async () => {
    const runs = new RunTracker({ disposed: "gone" });
    const thrown = await errorOf(
      runs.run(undefined, () => {
        throw new Error("at once");
      }),
    );
    expect((thrown as Error).message).toBe("at once");
    const failing = runs.run(
      undefined,
      (signal) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("x")))),
    );
    failing.catch(() => {});
    await runs.dispose();
    expect(await runs.whileOpen(async () => 1).catch(() => "refused")).toBe("refused");
  });
});

describe("sleep and within", () => {
  it("sleep waits, and rejects with CANCELLED when its signal aborts (or was aborted)", async () => {
    const started = Date.now();
    await sleep(30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    const controller = new AbortController();
    const waiting = errorOf(sleep(10_000, { signal: controller.signal, cancelled: "Stopped waiting." }));
    controller.abort();
    const error = (await waiting) as StigmerError;
    expect(error.code).toBe(ErrorCode.CANCELLED);
    expect(error.message).toBe("Stopped waiting.");
    expect(((await errorOf(sleep(10, { signal: controller.signal }))) as StigmerError).code).toBe(ErrorCode.CANCELLED);
  });

  it("within gives the value in time, else undefined; a rejection passes", async () => {
    expect(
      await within(
        delay(5).then(() => "v"),
        200,
      ),
    ).toBe("v");
    expect(
      await within(
        delay(200).then(() => "v"),
        10,
      ),
    ).toBeUndefined();
    expect(((await errorOf(within(Promise.reject(new Error("no")), 50))) as Error).message).toBe("no");
  });
});

describe("sandbox labels", () => {
  it("names this process as owner and the settings it was made with", () => {
    expect(sandboxLabels({ key: "abc", workspace: "/p", ttlSeconds: 60, cleanup: true })).toEqual({
      [SANDBOX_LABELS.managedBy]: MANAGED_BY,
      [SANDBOX_LABELS.owner]: PROCESS_OWNER,
      [SANDBOX_LABELS.key]: "abc",
      [SANDBOX_LABELS.workspace]: "/p",
      [SANDBOX_LABELS.ttl]: "60",
      [SANDBOX_LABELS.cleanup]: "true",
    });
    expect(ownerShown("host:12:345")).toBe("host:12");
  });

  it("gives the same reuse key for the same material, another for other material", () => {
    expect(reuseKey({ a: 1 })).toBe(reuseKey({ a: 1 }));
    expect(reuseKey({ a: 1 })).toHaveLength(24);
    expect(reuseKey(["x"], 16)).toHaveLength(16);
    expect(reuseKey({ a: 1 })).not.toBe(reuseKey({ a: 2 }));
  });
});
