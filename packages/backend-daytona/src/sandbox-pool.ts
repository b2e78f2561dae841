import { randomUUID } from "node:crypto";
import {
  KeyedPool,
  type Logger,
  NotFoundError,
  type OutputSink,
  ownerAlive,
  ownerShown,
  type PoolExit,
  PROCESS_OWNER,
  type SandboxInfo,
  StigmerError,
  sandboxLabels,
} from "@stigmer/core";
import { creationFailed, statusOf, toStigmerError } from "./errors.js";
import { LABELS, MANAGED_BY, reuseKey } from "./labels.js";
import type { ResolvedDaytonaOptions } from "./options.js";
import { type RetryPolicy, withRetry } from "./retry.js";
import type { Daytona, Sandbox } from "./sdk.js";

/** What a command needs a sandbox for: where it comes from and which workspace it serves. */
export interface SandboxSpec {
  source: { snapshot: string } | { image: string };
  workspaceKey: string;
  /** Host project directory, shown by `stigmer sandbox ls`. */
  workspaceDir: string;
}

/** A started sandbox this backend uses, with its idle sessions (its uses and retirement are the pool's). */
export interface LiveSandbox {
  readonly sandbox: Sandbox;
  readonly key: string;
  /** Created by this backend (only those are deleted on dispose). */
  readonly created: boolean;
  /**
   * The sandbox's workspace is known to be empty (created by this process and not synced yet, or
   * synced only by this process): no manifest to recover. Cleared when its copy must be rebuilt.
   */
  fresh: boolean;
  /** The host project whose copy the sandbox's workspace holds (set at the first sync). */
  root?: string;
  /** Sessions free for the next command (one command per session at a time), with their use counts. */
  readonly idleSessions: Array<{ id: string; uses: number }>;
}

const STARTED = "started";
const ON_THE_WAY = new Set(["creating", "starting", "restoring", "pending_build", "building_snapshot", "pulling_snapshot", "resizing"]);
const RESTARTABLE = new Set(["stopped", "archived", "stopping", "archiving"]);
const BROKEN = new Set(["error", "build_failed", "destroyed", "destroying", "unknown"]);

/** What the pool tells its owner about sandboxes leaving its hands. */
export interface PoolHooks {
  /** This process stops using the sandbox (gone, broken, or retired); it may still exist. */
  released?(sandboxId: string): void;
  /** The sandbox was deleted (by this process): nothing kept for it is needed any more. */
  deleted?(sandboxId: string): void;
}

function sourceText(source: SandboxSpec["source"]): string {
  return "snapshot" in source ? `snapshot ${source.snapshot}` : `image ${source.image}`;
}

function sourceLabel(source: SandboxSpec["source"]): string {
  return "snapshot" in source ? `snapshot:${source.snapshot}` : `image:${source.image}`;
}

/**
 * Finds, starts, creates and reclaims Daytona sandboxes. One sandbox per reuse key (workspace,
 * image or snapshot, target, settings), shared by every command of this backend; a sandbox made
 * by another executor with the same key is reused (restarted when it auto-stopped) rather than
 * duplicated. Idle expiry is Daytona's auto-stop (`STIGMER_SANDBOX_TTL` rounded up to minutes);
 * with cleanup on, sandboxes are created with auto-delete on stop, so one left behind by a killed
 * process is gone one TTL later. The sharing itself (single-flight finding, uses, retirement) is
 * core's KeyedPool.
 */
export class DaytonaSandboxPool {
  private readonly pool: KeyedPool<LiveSandbox>;
  private readonly policy: RetryPolicy;

  constructor(
    private readonly client: () => Promise<Daytona>,
    private readonly options: ResolvedDaytonaOptions,
    private readonly logger: Logger,
    private readonly hooks: PoolHooks = {},
  ) {
    this.policy = { retries: options.retries, baseDelayMs: options.retryBaseDelayMs, maxDelayMs: options.retryMaxDelayMs };
    this.pool = new KeyedPool<LiveSandbox>({
      // Idle expiry is Daytona's auto-stop; with TTL 0 a sandbox is not kept past its last use.
      idleMs: options.ttlSeconds === 0 ? 0 : undefined,
      // Daytona counts API and toolbox calls as activity; a long command makes none, so tell it.
      heartbeat: {
        everyMs: Math.min(60_000, (options.autoStopMinutes * 60_000) / 3),
        beat: (live) => void live.sandbox.refreshActivity().catch(() => {}),
      },
      close: (live, reason) => this.close(live, reason),
    });
  }

  /** Calls the API with retries and maps its errors. */
  call<T>(what: string, fn: () => Promise<T>, idempotent: boolean, signal?: AbortSignal): Promise<T> {
    return withRetry(fn, this.policy, { idempotent, ...(signal ? { signal } : {}) }).catch((error: unknown) => {
      throw toStigmerError(error, what, this.options.apiUrl);
    });
  }

  keyOf(spec: SandboxSpec): string {
    const o = this.options;
    return reuseKey({ w: spec.workspaceKey, s: spec.source, t: o.target, r: o.resources, n: o.networkBlockAll, l: o.labels });
  }

  acquire(spec: SandboxSpec, output: OutputSink, signal: AbortSignal): Promise<LiveSandbox> {
    const key = this.keyOf(spec);
    return this.pool.acquire(key, () => this.findOrCreate(spec, key, output), signal);
  }

  /** Ends one use. With TTL 0 the sandbox is not kept: deleted (cleanup on, made by us) or stopped. */
  release(live: LiveSandbox): void {
    this.pool.release(live);
  }

  /** The sandbox is gone or broken: the next command finds or creates another. */
  invalidate(live: LiveSandbox): void {
    if (this.pool.invalidate(live)) this.hooks.released?.(live.sandbox.id);
  }

  /** True once the sandbox is not to be used again (invalidated, or let go). */
  isRetired(live: LiveSandbox): boolean {
    return this.pool.isRetired(live);
  }

  /**
   * A sandbox leaves the pool. Retired: nothing more to do (the owner was told at invalidation).
   * Otherwise deleted when this backend made it and cleanup is on; else, at dispose, its idle
   * sessions are freed and it is left to auto-stop, and with TTL 0 it is stopped.
   */
  private async close(live: LiveSandbox, reason: PoolExit): Promise<void> {
    if (reason === "retired") return;
    const { sandbox } = live;
    this.hooks.released?.(sandbox.id);
    if (live.created && this.options.cleanup) {
      await sandbox.delete().then(
        () => this.hooks.deleted?.(sandbox.id),
        (error: unknown) => this.logger.warn({ sandbox: sandbox.id, err: String(error) }, "deleting the Daytona sandbox failed"),
      );
      if (reason !== "disposed") this.logger.debug({ sandbox: sandbox.id, why: "TTL is 0" }, "daytona sandbox deleted");
    } else if (reason === "disposed") {
      await Promise.allSettled(live.idleSessions.splice(0).map((s) => sandbox.process.deleteSession(s.id)));
    } else {
      await sandbox.stop().catch(() => {});
    }
  }

  private async findOrCreate(spec: SandboxSpec, key: string, output: OutputSink): Promise<LiveSandbox> {
    const daytona = await this.client();
    const candidates = await this.call(
      "looking for a reusable sandbox",
      async () => {
        const found: Sandbox[] = [];
        for await (const s of daytona.list({ labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.key]: key } })) found.push(s);
        return found;
      },
      true,
    );
    const rank = (s: Sandbox) => (s.state === STARTED ? 0 : ON_THE_WAY.has(String(s.state)) ? 1 : RESTARTABLE.has(String(s.state)) ? 2 : 3);
    const reusable = candidates
      .filter((s) => !BROKEN.has(String(s.state)))
      .sort((a, b) => rank(a) - rank(b) || String(b.createdAt).localeCompare(String(a.createdAt)));
    for (const sandbox of reusable) {
      try {
        await this.bringUp(sandbox, output);
        await this.matchAutoStop(sandbox);
        this.logger.debug({ sandbox: sandbox.id, state: sandbox.state }, "reusing daytona sandbox");
        return { sandbox, key, created: false, fresh: false, idleSessions: [] };
      } catch (error) {
        this.logger.debug({ sandbox: sandbox.id, err: String(error) }, "daytona sandbox not reusable");
      }
    }
    return this.create(spec, key, output);
  }

  /** Starts a stopped or archived sandbox, or waits for one on its way. */
  private async bringUp(sandbox: Sandbox, output: OutputSink): Promise<void> {
    const timeout = this.options.createTimeoutSeconds;
    if (sandbox.state === STARTED) return;
    if (RESTARTABLE.has(String(sandbox.state))) {
      output.progress({
        phase: "start",
        message: `Starting the stopped Daytona sandbox ${sandbox.name} (persistent workspace)…`,
        item: sandbox.id,
      });
      if (sandbox.state === "stopping" || sandbox.state === "archiving") await sandbox.waitUntilStopped(timeout);
      await this.call("starting a stopped sandbox", () => sandbox.start(timeout), false);
      return;
    }
    output.progress({ phase: "start", message: `Waiting for the Daytona sandbox ${sandbox.name} to start…`, item: sandbox.id });
    await sandbox.waitUntilStarted(timeout);
  }

  private async matchAutoStop(sandbox: Sandbox): Promise<void> {
    if (sandbox.autoStopInterval === this.options.autoStopMinutes) return;
    await this.call("setting the auto-stop interval", () => sandbox.setAutostopInterval(this.options.autoStopMinutes), true);
  }

  private async create(spec: SandboxSpec, key: string, output: OutputSink): Promise<LiveSandbox> {
    const daytona = await this.client();
    const o = this.options;
    const creation = randomUUID();
    const labels: Record<string, string> = {
      ...o.labels,
      ...sandboxLabels({ key, workspace: spec.workspaceKey, ttlSeconds: o.ttlSeconds, cleanup: o.cleanup }),
      [LABELS.workspaceDir]: spec.workspaceDir.slice(0, 250),
      [LABELS.source]: sourceLabel(spec.source).slice(0, 250),
      [LABELS.creation]: creation,
    };
    const params = {
      ...spec.source,
      labels,
      autoStopInterval: o.autoStopMinutes,
      // Cleanup on: a sandbox that auto-stops (its owner died without disposing) is deleted too.
      ...(o.cleanup ? { autoDeleteInterval: 0 } : {}),
      ...(o.networkBlockAll ? { networkBlockAll: true } : {}),
      ...(o.resources ? { resources: o.resources } : {}),
    };
    output.progress({ phase: "create", message: `Creating a Daytona sandbox from ${sourceText(spec.source)}…` });
    try {
      const sandbox = await withRetry(() => daytona.create(params, { timeout: o.createTimeoutSeconds }), this.policy, {
        idempotent: false,
      });
      this.logger.debug({ sandbox: sandbox.id, source: labels[LABELS.source] }, "daytona sandbox created");
      return { sandbox, key, created: true, fresh: true, idleSessions: [] };
    } catch (error) {
      // The create call may have failed after Daytona made the sandbox (it errored, never started,
      // or the answer was lost): find it by its creation label, then use it or delete it.
      const leftover = await this.findCreation(daytona, creation);
      if (leftover?.state === STARTED) return { sandbox: leftover, key, created: true, fresh: true, idleSessions: [] };
      if (leftover) {
        // The SDK's wait names the failed state ("failed to start with status: error, error
        // reason: …"); the record has Daytona's reason.
        const said = /with status: (\w+)(?:, error reason: (.*))?$/.exec(String((error as Error)?.message ?? ""));
        const state = said?.[1] ?? leftover.state;
        const reason = leftover.errorReason || (said?.[2] && said[2] !== "undefined" ? said[2] : undefined);
        await leftover.delete().catch(() => {});
        if (StigmerError.isInstance(error) || statusOf(error) === undefined) {
          throw creationFailed(state, reason, o.createTimeoutSeconds, sourceText(spec.source), error);
        }
      }
      throw toStigmerError(error, `creating a sandbox from ${sourceText(spec.source)}`, o.apiUrl);
    }
  }

  private async findCreation(daytona: Daytona, creation: string): Promise<Sandbox | undefined> {
    try {
      for await (const s of daytona.list({ labels: { [LABELS.creation]: creation } })) {
        await s.refreshData().catch(() => {});
        return s;
      }
    } catch {}
    return undefined;
  }

  // --- SandboxManager -------------------------------------------------------------------------

  private async managed(): Promise<Sandbox[]> {
    const daytona = await this.client();
    return this.call(
      "listing sandboxes",
      async () => {
        const all: Sandbox[] = [];
        for await (const s of daytona.list({ labels: { [LABELS.managedBy]: MANAGED_BY } })) all.push(s);
        return all;
      },
      true,
    );
  }

  private info(s: Sandbox): SandboxInfo {
    const labels = s.labels ?? {};
    const owner = labels[LABELS.owner];
    return {
      id: s.id,
      name: s.name,
      backend: "daytona",
      image: (labels[LABELS.source] ?? "").replace(/^image:/, ""),
      state: String(s.state ?? "unknown"),
      ...(labels[LABELS.workspaceDir] ? { workspace: labels[LABELS.workspaceDir] } : {}),
      createdAt: String(s.createdAt ?? ""),
      ...(s.updatedAt ? { lastUsedAt: String(s.updatedAt) } : {}),
      ...(owner ? { owner: ownerShown(owner) } : {}),
      ownedByThisProcess: owner === PROCESS_OWNER,
    };
  }

  async list(): Promise<SandboxInfo[]> {
    return (await this.managed()).map((s) => this.info(s));
  }

  async remove(idOrName: string): Promise<void> {
    const daytona = await this.client();
    let sandbox: Sandbox;
    try {
      sandbox = await withRetry(() => daytona.get(idOrName), this.policy, { idempotent: true });
    } catch (error) {
      if (statusOf(error) === 404) throw new NotFoundError(`No Daytona sandbox "${idOrName}": see \`stigmer sandbox ls\`.`);
      throw toStigmerError(error, `looking up sandbox ${idOrName}`, this.options.apiUrl);
    }
    if (sandbox.labels?.[LABELS.managedBy] !== MANAGED_BY) {
      throw new NotFoundError(`Daytona sandbox "${idOrName}" was not made by Stigmer; delete it in the Daytona dashboard if you mean to.`);
    }
    await this.call(`deleting sandbox ${sandbox.id}`, () => sandbox.delete(), true);
    this.hooks.deleted?.(sandbox.id);
  }

  /**
   * Removes sandboxes nobody will use again: stopped, archived or broken ones, and started ones
   * whose owner (on this host) is gone and that were to be cleaned up. With `all`, also started
   * ones kept for reuse, except those a live process on this host or another machine may be using.
   */
  async prune(options: { all?: boolean } = {}): Promise<SandboxInfo[]> {
    const removed: SandboxInfo[] = [];
    for (const s of await this.managed()) {
      const labels = s.labels ?? {};
      const owner = labels[LABELS.owner];
      const idle = !(s.state === STARTED || ON_THE_WAY.has(String(s.state)));
      // This process's own started sandboxes are its dispose's business.
      const orphan = owner !== PROCESS_OWNER && !ownerAlive(owner);
      const remove = idle || (orphan && (options.all || labels[LABELS.cleanup] === "true"));
      if (!remove) continue;
      try {
        await this.call(`deleting sandbox ${s.id}`, () => s.delete(), true);
        this.hooks.deleted?.(s.id);
        removed.push(this.info(s));
      } catch (error) {
        if (statusOf((error as StigmerError).cause) !== 404) throw error;
        this.hooks.deleted?.(s.id);
      }
    }
    return removed;
  }

  /** Deletes what this backend created (cleanup on) or leaves it to auto-stop; frees sessions. */
  dispose(): Promise<void> {
    return this.pool.dispose();
  }
}
