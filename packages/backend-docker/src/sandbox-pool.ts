import { randomBytes } from "node:crypto";
import { lstatSync } from "node:fs";
import { join } from "node:path";
import {
  BackendUnavailableError,
  KeyedPool,
  type Logger,
  NotFoundError,
  type OutputSink,
  type PoolExit,
  reuseKey,
  type SandboxFiles,
  type SandboxInfo,
  type StigmerConfig,
  type WorkspaceStrategy,
  within,
} from "@stigmer/core";
import type Docker from "dockerode";
import { AgentChannel } from "./agent-channel.js";
import { agentFiles } from "./agent-files.js";
import { containerLabels, containerSpec } from "./container-spec.js";
import { engineUnavailable, isConnectionError, statusOf } from "./docker-errors.js";
import type { ResolvedDockerOptions } from "./docker-options.js";
import type { EngineApi } from "./engine-api.js";
import { ensureImage } from "./ensure-image.js";
import { execFiles } from "./exec-files.js";
import { onProcessExit } from "./exit-hooks.js";
import { LABELS, OWNER } from "./labels.js";
import { waitReady } from "./readiness.js";
import { isOurs, listManaged, pruneable, reapLeftovers, removeContainer, removeStrayDirs, sandboxInfo } from "./reaper.js";
import type { SandboxEnvironment } from "./sandbox-env.js";
import {
  channelDir,
  dropToken,
  makeSandboxDir,
  readRecord,
  recordExpiry,
  removeSandboxDir,
  type SandboxRecord,
  touchRecord,
  trustDir,
  writeRecord,
} from "./sandbox-state.js";
import { saturated } from "./saturation.js";

export interface SandboxSpec {
  image: string;
  /** Host project directory (real path, checked by core). */
  root: string;
  strategy: WorkspaceStrategy;
}

/** One live container this process uses (its uses and retirement are the pool's: {@link SandboxPool.uses}). */
export interface Sandbox {
  readonly id: string;
  readonly name: string;
  readonly key: string;
  readonly spec: SandboxSpec;
  /** Host state directory (record, channel). */
  readonly dir: string;
  /** `agent`: commands go through the in-sandbox agent; `exec`: through `docker exec`. */
  readonly mode: "agent" | "exec";
  readonly channel: AgentChannel | undefined;
  /** The sandbox's copy of the project (sync and review strategies). */
  readonly files: SandboxFiles;
  /** User that runs commands, when not the container's default. */
  readonly user: string | undefined;
  /**
   * The last command left processes behind (a bomb still growing, a daemon), or the sandbox was
   * adopted from an earlier process: before the next command it is checked again and retired if
   * it has filled up meanwhile.
   */
  leftovers?: boolean;
}

const ADOPT_TIMEOUT_MS = 3000;

/** What the pool's log says when a sandbox leaves it. */
const WHY: Record<PoolExit, string> = {
  idle: "idle longer than the TTL",
  retired: "retired",
  removed: "removed on request",
  disposed: "executor disposed",
};

/**
 * Creates, reuses and reclaims sandbox containers. A container serves one (image, project,
 * strategy, settings) key; it is reused while idle less than the TTL, then removed; `dispose`
 * removes this process's containers when cleanup is on. Expiry is decided from the host's own
 * records, which the sandbox cannot touch. The reaper removes what earlier processes left behind.
 * The sharing itself (single-flight creation, uses, idle expiry, retirement) is core's KeyedPool.
 */
export class SandboxPool {
  private readonly pool: KeyedPool<Sandbox>;
  private reaped: Promise<void> | undefined;
  /** The managed containers the first reap left: the first adoption picks from them without listing again. */
  private firstListing: Docker.ContainerInfo[] | undefined;
  private unhook: (() => void) | undefined;

  constructor(
    /** dockerode, loaded on first use: {@link api} serves what a warm command needs. */
    private readonly dockerOf: () => Docker,
    private readonly api: EngineApi,
    private readonly config: StigmerConfig["sandbox"],
    private readonly options: ResolvedDockerOptions,
    private readonly agentDir: string,
    private readonly environment: SandboxEnvironment,
    private readonly engine: { id: string; dir: () => Promise<string> },
    private readonly logger: Logger,
    /** Called when a sandbox is removed (its workspace copy is gone). */
    private readonly onRemoved: (sandbox: Sandbox) => void = () => {},
  ) {
    const ttlMs = config.ttlSeconds * 1000;
    this.pool = new KeyedPool<Sandbox>({
      idleMs: ttlMs,
      // While commands run, keep the lease fresh so a busy sandbox does not expire.
      heartbeat: { everyMs: Math.max(100, Math.min(30_000, ttlMs / 3)), beat: (sandbox) => this.beat(sandbox) },
      close: (sandbox, reason) => this.close(sandbox, reason),
    });
  }

  private get docker(): Docker {
    return this.dockerOf();
  }

  /** Hash of everything that makes two containers interchangeable. */
  keyOf(spec: SandboxSpec): string {
    const { network } = this.config;
    const { memoryBytes, cpus, pidsLimit, user, capAdd, privileged, noNewPrivileges, readOnlyRootfs, workspacePath, agent } = this.options;
    return reuseKey(
      [
        spec.image,
        spec.root,
        spec.strategy,
        network,
        memoryBytes,
        cpus,
        pidsLimit,
        user,
        capAdd,
        privileged,
        noNewPrivileges,
        readOnlyRootfs,
        workspacePath,
        agent,
        this.environment.fingerprint,
      ],
      16,
    );
  }

  /** A running sandbox for `spec`, created (image pulled) on first use. Pair with {@link release}. */
  async acquire(spec: SandboxSpec, output: OutputSink, signal: AbortSignal): Promise<Sandbox> {
    await this.prepare();
    const key = this.keyOf(spec);
    const sandbox = await this.pool.acquire(key, () => this.adoptOrCreate(spec, key, output), signal);
    this.beat(sandbox);
    return sandbox;
  }

  /** Ends one use of a sandbox; the last one starts the idle clock (TTL 0: removed at once). */
  release(sandbox: Sandbox): void {
    if (!this.pool.isRetired(sandbox)) this.beat(sandbox);
    this.pool.release(sandbox);
  }

  /** Commands using the sandbox now. */
  uses(sandbox: Sandbox): number {
    return this.pool.uses(sandbox);
  }

  /** Marks a sandbox unusable (container gone, broken or saturated): the next acquire creates a fresh one. */
  invalidate(sandbox: Sandbox, why: string): void {
    if (this.pool.invalidate(sandbox)) {
      this.logger.warn({ container: sandbox.name, why }, "sandbox container retired; the next command gets a fresh one");
    }
  }

  /** Removes this process's containers when cleanup is on; otherwise leaves them to their TTL. */
  async dispose(): Promise<void> {
    await this.pool.dispose();
    this.unhook?.();
    this.unhook = undefined;
  }

  /** Every container Stigmer manages on this engine. */
  async list(): Promise<SandboxInfo[]> {
    return (await listManaged(this.api)).map(sandboxInfo);
  }

  async remove(idOrName: string): Promise<void> {
    const found = (await listManaged(this.api)).find(
      (c) => c.Id === idOrName || c.Id.startsWith(idOrName) || c.Names.some((n) => n === `/${idOrName}`),
    );
    if (!found) throw new NotFoundError(`No Stigmer sandbox container is named or numbered "${idOrName}": see stigmer sandbox ls.`);
    const mine = this.mine(found.Id);
    const engineDir = await this.engine.dir();
    if (mine) await this.pool.remove(mine);
    else await removeContainer(this.docker, found.Id, isOurs(found, engineDir) ? found.Labels[LABELS.stateDir] : undefined);
  }

  async prune(options: { all?: boolean } = {}): Promise<SandboxInfo[]> {
    const engineDir = await this.engine.dir();
    const removed: SandboxInfo[] = [];
    for (const c of await listManaged(this.api)) {
      const mine = this.mine(c.Id);
      if (!pruneable(c, engineDir, mine && { uses: this.pool.uses(mine) }, options.all === true)) continue;
      if (mine) await this.pool.remove(mine);
      else await removeContainer(this.docker, c.Id, c.Labels[LABELS.stateDir]);
      removed.push(sandboxInfo(c));
    }
    removeStrayDirs(engineDir, await this.dirsInUse());
    return removed;
  }

  /** The sandbox of this process in container `id`, if any. */
  private mine(id: string): Sandbox | undefined {
    return this.pool.resources().find((s) => s.id === id);
  }

  private async dirsInUse(listing?: Docker.ContainerInfo[]): Promise<Set<string>> {
    const dirs = new Set((listing ?? (await listManaged(this.api))).map((c) => c.Labels[LABELS.stateDir] ?? ""));
    for (const sandbox of this.pool.resources()) dirs.add(sandbox.dir);
    return dirs;
  }

  /**
   * The first use's housekeeping, started as early as possible (the backend starts it beside its
   * reachability check): reaps leftovers once, and keeps the listing it made for the first adoption.
   */
  prepare(): Promise<void> {
    if (!this.reaped) {
      this.reaped = this.reap().catch((error) => {
        this.reaped = undefined;
        throw error;
      });
      this.reaped.catch(() => {}); // awaited by acquire; a caller that gives up first must not leave it unhandled
    }
    return this.reaped;
  }

  /** Removes leftovers of earlier processes of this user on this engine: stopped, expired, or orphaned with cleanup on. */
  private async reap(): Promise<void> {
    const engineDir = await this.engine.dir();
    const inUse = new Set(this.pool.resources().map((s) => s.id));
    const left = await reapLeftovers(() => this.docker, await listManaged(this.api), engineDir, inUse, this.logger);
    removeStrayDirs(engineDir, await this.dirsInUse(left));
    this.firstListing = left;
  }

  private async adoptOrCreate(spec: SandboxSpec, key: string, output: OutputSink): Promise<Sandbox> {
    if (!this.config.cleanup) {
      const adopted = await this.adopt(spec, key);
      if (adopted) return adopted;
    }
    return this.create(spec, key, output);
  }

  /** With cleanup off, containers outlive their creator: a later process picks one up within its TTL. */
  private async adopt(spec: SandboxSpec, key: string): Promise<Sandbox | undefined> {
    const engineDir = await this.engine.dir();
    const listing = this.firstListing;
    this.firstListing = undefined;
    const wanted = { [LABELS.key]: key, [LABELS.cleanup]: "false", [LABELS.engine]: this.engine.id };
    const candidates = listing
      ? listing.filter((c) => c.State === "running" && Object.entries(wanted).every(([k, v]) => c.Labels[k] === v))
      : await this.api.listContainers({
          filters: { label: Object.entries(wanted).map(([k, v]) => `${k}=${v}`), status: ["running"] },
        });
    for (const c of candidates) {
      const dir = c.Labels[LABELS.stateDir];
      if (!dir || !isOurs(c, engineDir)) continue;
      const record = readRecord(dir);
      if (!record?.mode || (recordExpiry(dir) ?? 0) < Date.now()) continue;
      const user = record.user !== undefined ? record.user || undefined : await this.commandUser(spec);
      let channel: AgentChannel | undefined;
      let leftovers = false;
      if (record.mode === "agent") {
        channel = await AgentChannel.listen(channelDir(dir), record.token);
        const greeting = await within(channel.ready, ADOPT_TIMEOUT_MS);
        if (!greeting) {
          channel.close();
          continue;
        }
        // What the last command left running may have filled it since (a bomb, a leak): not this one then.
        const full = greeting.stats ? saturated(greeting.stats) : undefined;
        if (full) {
          channel.close();
          this.logger.warn({ container: c.Names[0], why: full }, "sandbox container retired; the next command gets a fresh one");
          await removeContainer(this.docker, c.Id, dir).catch(() => {});
          continue;
        }
        // An older agent says nothing of it: ask before the first command.
        leftovers = greeting.stats === undefined;
      }
      const name = (c.Names[0] ?? "").replace(/^\//, "");
      const sandbox = this.track({ id: c.Id, name, key, spec, dir, mode: record.mode, channel, user, fresh: false });
      sandbox.leftovers = leftovers;
      this.logger.debug({ container: name }, "reusing a sandbox container left by an earlier process");
      return sandbox;
    }
    return undefined;
  }

  private async create(spec: SandboxSpec, key: string, output: OutputSink): Promise<Sandbox> {
    await ensureImage(this.docker, spec.image, {
      autoPull: this.config.autoPull,
      progress: (p) => output.progress(p),
      signal: new AbortController().signal,
    });
    const engineDir = await this.engine.dir();
    const suffix = randomBytes(3).toString("hex");
    const name = `stigmer-${key.slice(0, 8)}-${suffix}`;
    const dir = join(engineDir, `${key.slice(0, 8)}-${suffix}`);
    const { ttlSeconds, cleanup } = this.config;
    const record: SandboxRecord = {
      token: randomBytes(32).toString("hex"),
      ttlSeconds,
      cleanup,
      owner: OWNER,
      key,
      image: spec.image,
      root: spec.root,
      strategy: spec.strategy,
      createdAt: new Date().toISOString(),
    };
    makeSandboxDir(dir, record, this.environment.caBundle);
    output.progress({ phase: "create", message: `starting sandbox ${name} from ${spec.image}` });
    let id: string | undefined;
    let channel: AgentChannel | undefined;
    try {
      channel = await AgentChannel.listen(channelDir(dir), record.token);
      const container = await this.docker.createContainer(
        containerSpec({
          name,
          image: spec.image,
          strategy: spec.strategy,
          root: spec.root,
          readOnlyInProject: spec.strategy === "mount" ? readOnlyInProject(spec.root) : [],
          channelDir: channelDir(dir),
          agentDir: this.agentDir,
          trustDir: this.environment.caBundle ? trustDir(dir) : undefined,
          env: this.environment.env,
          hostGateway: this.environment.hostGateway,
          labels: containerLabels({
            key,
            image: spec.image,
            root: spec.root,
            strategy: spec.strategy,
            ttlSeconds,
            cleanup,
            stateDir: dir,
            engine: this.engine.id,
            created: record.createdAt,
          }),
          sandbox: this.config,
          options: this.options,
        }),
      );
      id = container.id;
      await container.start();
      const mode = await waitReady(container, channel, this.options.stateDir);
      dropToken(dir);
      if (mode === "exec") {
        channel.close();
        channel = undefined;
      }
      const user = await this.commandUser(spec);
      writeRecord(dir, { ...record, mode, user: user ?? "" });
      const sandbox = this.track({ id, name, key, spec, dir, mode, channel, user, fresh: true });
      this.logger.debug({ container: name, mode, image: spec.image, strategy: spec.strategy }, "sandbox container started");
      return sandbox;
    } catch (error) {
      channel?.close();
      if (id) await removeContainer(this.docker, id, dir).catch(() => {});
      else removeSandboxDir(dir);
      if (isConnectionError(error)) throw engineUnavailable(this.docker, error);
      if (statusOf(error) !== undefined) {
        throw new BackendUnavailableError(`Docker refused to start a sandbox from ${spec.image}: ${(error as Error).message.trim()}.`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  /**
   * The user commands run as: the configured one; else, with `mount`, the invoking user (so what
   * the sandbox writes in the project is the user's, and it cannot create root-owned files there);
   * else the image's USER (root when it has none).
   */
  private async commandUser(spec: SandboxSpec): Promise<string | undefined> {
    if (this.options.user) return this.options.user;
    if (spec.strategy === "mount" && process.getuid && process.getgid) return `${process.getuid()}:${process.getgid()}`;
    return this.api.imageUser(spec.image);
  }

  private track(fields: {
    id: string;
    name: string;
    key: string;
    spec: SandboxSpec;
    dir: string;
    mode: "agent" | "exec";
    channel: AgentChannel | undefined;
    user: string | undefined;
    fresh: boolean;
  }): Sandbox {
    const { fresh, ...rest } = fields;
    const fileOptions = { key: fields.id, fresh, stateDir: fields.dir, user: fields.user };
    const files = fields.channel
      ? agentFiles(fields.channel, fileOptions)
      : execFiles(this.docker.getContainer(fields.id), { ...fileOptions, workspacePath: this.options.workspacePath });
    const sandbox: Sandbox = { ...rest, files };
    fields.channel?.onLost(() => this.invalidate(sandbox, "the sandbox agent disconnected"));
    if (this.config.cleanup) this.unhook ??= onProcessExit(() => this.releaseOnExit());
    return sandbox;
  }

  private beat(sandbox: Sandbox): void {
    touchRecord(sandbox.dir);
    sandbox.channel?.ping();
  }

  /** A sandbox leaves the pool: removed, but at dispose with cleanup off (then left to its TTL). */
  private async close(sandbox: Sandbox, reason: PoolExit): Promise<void> {
    sandbox.channel?.close();
    if (reason === "disposed" && !this.config.cleanup) return;
    this.logger.debug({ container: sandbox.name, why: WHY[reason] }, "removing sandbox container");
    this.onRemoved(sandbox);
    await removeContainer(this.docker, sandbox.id, sandbox.dir).catch((error) => {
      this.logger.warn({ container: sandbox.name, err: (error as Error).message }, "could not remove a sandbox container");
    });
    if (this.pool.resources().length === 0) {
      this.unhook?.();
      this.unhook = undefined;
    }
  }

  // On process exit (and SIGINT/SIGTERM nobody else handles) remove the state directories of
  // cleanup-on sandboxes: synchronous, so it works in an exit handler. The agent loses its
  // connection and exits; the exec-mode keeper finds its lease gone; Docker removes the container.
  private releaseOnExit(): void {
    for (const sandbox of this.pool.resources()) {
      sandbox.channel?.close();
      removeSandboxDir(sandbox.dir);
    }
  }
}

/** What the `mount` strategy mounts read-only over itself: the git directory (or file) and Stigmer's config. */
function readOnlyInProject(root: string): string[] {
  return [".git", "stigmer.config.json"].filter((name) => {
    try {
      const info = lstatSync(join(root, name));
      return info.isDirectory() || info.isFile();
    } catch {
      return false;
    }
  });
}
