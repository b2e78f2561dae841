import { createHash, randomBytes } from "node:crypto";
import { lstatSync } from "node:fs";
import { join } from "node:path";
import {
  BackendUnavailableError,
  type Logger,
  NotFoundError,
  type OutputSink,
  type SandboxFiles,
  type SandboxInfo,
  type StigmerConfig,
  unlessAborted,
  type WorkspaceStrategy,
} from "@stigmer/core";
import type Docker from "dockerode";
import { AgentChannel } from "./agent-channel.js";
import { agentFiles } from "./agent-files.js";
import type { SandboxStats } from "./agent-runner.js";
import { containerSpec } from "./container-spec.js";
import { engineUnavailable, isConnectionError, statusOf } from "./docker-errors.js";
import type { ResolvedDockerOptions } from "./docker-options.js";
import type { EngineApi } from "./engine-api.js";
import { ensureImage } from "./ensure-image.js";
import { execFiles } from "./exec-files.js";
import { onProcessExit } from "./exit-hooks.js";
import { LABELS, MANAGED_BY, OWNER, ownerAlive } from "./labels.js";
import { isOurs, isReclaimable, removeContainer, removeStrayDirs, sandboxInfo } from "./reaper.js";
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

export interface SandboxSpec {
  image: string;
  /** Host project directory (real path, checked by core). */
  root: string;
  strategy: WorkspaceStrategy;
}

/** One live container this process uses. */
/** More processes than the agent and its helpers after a command ends: something was left running. */
export const LEFTOVER_PIDS = 4;

/** A sandbox at (or near) its pids or memory limit: a fork bomb or a leak that the next command must not inherit. */
export function saturated(stats: SandboxStats): string | undefined {
  const { pids, pidsMax, memory, memoryMax } = stats;
  if (pids != null && pidsMax != null && pidsMax > 0 && pids >= Math.max(pidsMax * 0.9, pidsMax - 16)) {
    return `${pids} of ${pidsMax} processes in use`;
  }
  if (memory != null && memoryMax != null && memoryMax > 0 && memoryMax < 2 ** 60 && memory >= memoryMax * 0.9) {
    return `${memory} of ${memoryMax} bytes of memory in use`;
  }
  return undefined;
}

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
  active: number;
  dead: boolean;
  /**
   * The last command left processes behind (a bomb still growing, a daemon), or the sandbox was
   * adopted from an earlier process: before the next command it is checked again and retired if
   * it has filled up meanwhile.
   */
  leftovers?: boolean;
  idleTimer?: NodeJS.Timeout | undefined;
  beatTimer?: NodeJS.Timeout | undefined;
}

const READY_TIMEOUT_MS = 20_000;
const ADOPT_TIMEOUT_MS = 3000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Creates, reuses and reclaims sandbox containers. A container serves one (image, project,
 * strategy, settings) key; it is reused while idle less than the TTL, then removed; `dispose`
 * removes this process's containers when cleanup is on. Expiry is decided from the host's own
 * records, which the sandbox cannot touch. The reaper removes what earlier processes left behind.
 */
export class SandboxPool {
  private readonly sandboxes = new Map<string, Promise<Sandbox>>();
  private readonly live = new Set<Sandbox>();
  /** Removals under way: dispose waits for them (a retired sandbox must not outlive us). */
  private readonly removing = new Set<Promise<void>>();
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
  ) {}

  private get docker(): Docker {
    return this.dockerOf();
  }

  /** Hash of everything that makes two containers interchangeable. */
  keyOf(spec: SandboxSpec): string {
    const { network, memoryBytes, cpus, pidsLimit } = this.config;
    const { user, capAdd, privileged, noNewPrivileges, readOnlyRootfs, workspacePath, agent } = this.options;
    const material = JSON.stringify([
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
    ]);
    return createHash("sha256").update(material).digest("hex").slice(0, 16);
  }

  /** A running sandbox for `spec`, created (image pulled) on first use. Pair with {@link release}. */
  async acquire(spec: SandboxSpec, output: OutputSink, signal: AbortSignal): Promise<Sandbox> {
    await this.prepare();
    const key = this.keyOf(spec);
    let pending = this.sandboxes.get(key);
    if (!pending) {
      pending = this.adoptOrCreate(spec, key, output);
      this.sandboxes.set(key, pending);
      pending.catch(() => {
        if (this.sandboxes.get(key) === pending) this.sandboxes.delete(key);
      });
    }
    const sandbox = await unlessAborted(pending, signal);
    if (sandbox.dead) {
      this.forget(sandbox);
      return this.acquire(spec, output, signal);
    }
    sandbox.active++;
    clearTimeout(sandbox.idleTimer);
    this.beat(sandbox);
    if (!sandbox.beatTimer) {
      // While commands run, keep the lease fresh so a busy sandbox does not expire.
      sandbox.beatTimer = setInterval(() => this.beat(sandbox), Math.max(100, Math.min(30_000, (this.config.ttlSeconds * 1000) / 3)));
      sandbox.beatTimer.unref();
    }
    return sandbox;
  }

  /** Ends one use of a sandbox; the last one starts the idle clock (TTL 0: removed at once). */
  release(sandbox: Sandbox): void {
    sandbox.active--;
    if (sandbox.dead) return void this.forget(sandbox);
    this.beat(sandbox);
    if (sandbox.active > 0) return;
    clearInterval(sandbox.beatTimer);
    sandbox.beatTimer = undefined;
    sandbox.idleTimer = setTimeout(() => {
      if (sandbox.active === 0) void this.destroy(sandbox, "idle longer than the TTL");
    }, this.config.ttlSeconds * 1000);
    sandbox.idleTimer.unref();
  }

  /** Marks a sandbox unusable (container gone, broken or saturated): the next acquire creates a fresh one. */
  invalidate(sandbox: Sandbox, why: string): void {
    if (sandbox.dead) return;
    sandbox.dead = true;
    this.logger.warn({ container: sandbox.name, why }, "sandbox container retired; the next command gets a fresh one");
    if (sandbox.active === 0) void this.forget(sandbox);
  }

  /** Removes this process's containers when cleanup is on; otherwise leaves them to their TTL. */
  async dispose(): Promise<void> {
    // A container still being created (its command was cancelled by the dispose) joins `live`
    // when it is ready: wait for it, or it would outlive us until its TTL.
    await Promise.allSettled([...this.sandboxes.values()]);
    const all = [...this.live];
    for (const sandbox of all) {
      clearTimeout(sandbox.idleTimer);
      clearInterval(sandbox.beatTimer);
    }
    if (this.config.cleanup) await Promise.allSettled(all.map((s) => this.destroy(s, "executor disposed")));
    else for (const sandbox of all) sandbox.channel?.close();
    await Promise.allSettled([...this.removing]);
    this.unhook?.();
    this.unhook = undefined;
  }

  /** Every container Stigmer manages on this engine. */
  async list(): Promise<SandboxInfo[]> {
    return (await this.listManaged()).map(sandboxInfo);
  }

  async remove(idOrName: string): Promise<void> {
    const found = (await this.listManaged()).find(
      (c) => c.Id === idOrName || c.Id.startsWith(idOrName) || c.Names.some((n) => n === `/${idOrName}`),
    );
    if (!found) throw new NotFoundError(`No Stigmer sandbox container is named or numbered "${idOrName}": see stigmer sandbox ls.`);
    const mine = [...this.live].find((s) => s.id === found.Id);
    const engineDir = await this.engine.dir();
    if (mine) await this.destroy(mine, "removed on request");
    else await removeContainer(this.docker, found.Id, isOurs(found, engineDir) ? found.Labels[LABELS.stateDir] : undefined);
  }

  async prune(options: { all?: boolean } = {}): Promise<SandboxInfo[]> {
    const engineDir = await this.engine.dir();
    const removed: SandboxInfo[] = [];
    for (const c of await this.listManaged()) {
      if (!isOurs(c, engineDir)) continue;
      const mine = [...this.live].find((s) => s.id === c.Id);
      if (mine && mine.active > 0) continue;
      // --all takes every kept or orphaned sandbox, never one a live process owns and will clean up itself.
      const ownedElsewhere =
        !mine && c.Labels[LABELS.cleanup] === "true" && ownerAlive(c.Labels[LABELS.owner]) && c.Labels[LABELS.owner] !== OWNER;
      if ((options.all && !ownedElsewhere) || (!mine && isReclaimable(c, engineDir))) {
        if (mine) await this.destroy(mine, "pruned");
        else await removeContainer(this.docker, c.Id, c.Labels[LABELS.stateDir]);
        removed.push(sandboxInfo(c));
      }
    }
    removeStrayDirs(engineDir, await this.dirsInUse());
    return removed;
  }

  private async dirsInUse(listing?: Docker.ContainerInfo[]): Promise<Set<string>> {
    const dirs = new Set((listing ?? (await this.listManaged())).map((c) => c.Labels[LABELS.stateDir] ?? ""));
    for (const sandbox of this.live) dirs.add(sandbox.dir);
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
    const listing = await this.listManaged();
    const left: Docker.ContainerInfo[] = [];
    for (const c of listing) {
      if ([...this.live].some((s) => s.id === c.Id) || !isReclaimable(c, engineDir)) {
        left.push(c);
        continue;
      }
      this.logger.info({ container: c.Names[0], owner: c.Labels[LABELS.owner], state: c.State }, "reaping a leftover sandbox container");
      await removeContainer(this.docker, c.Id, c.Labels[LABELS.stateDir]).catch(() => {});
    }
    removeStrayDirs(engineDir, await this.dirsInUse(left));
    this.firstListing = left;
  }

  private async listManaged(): Promise<Docker.ContainerInfo[]> {
    try {
      return await this.api.listContainers({ all: true, filters: { label: [`${LABELS.managedBy}=${MANAGED_BY}`] } });
    } catch (error) {
      throw isConnectionError(error) ? engineUnavailable(undefined, error) : error;
    }
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
        const greeting = await Promise.race([channel.ready, sleep(ADOPT_TIMEOUT_MS).then(() => undefined)]);
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
      this.beat(sandbox);
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
          labels: {
            [LABELS.managedBy]: MANAGED_BY,
            [LABELS.owner]: OWNER,
            [LABELS.image]: spec.image,
            [LABELS.key]: key,
            [LABELS.workspace]: spec.root,
            [LABELS.strategy]: spec.strategy,
            [LABELS.ttl]: String(ttlSeconds),
            [LABELS.cleanup]: String(cleanup),
            [LABELS.stateDir]: dir,
            [LABELS.engine]: this.engine.id,
            [LABELS.created]: record.createdAt,
          },
          sandbox: this.config,
          options: this.options,
        }),
      );
      id = container.id;
      await container.start();
      const mode = await this.waitReady(container, channel);
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

  /** `agent` once the agent has authenticated; `exec` when the keeper says the image has no python3. */
  private async waitReady(container: Docker.Container, channel: AgentChannel): Promise<"agent" | "exec"> {
    let agentReady = false;
    void channel.ready.then(() => {
      agentReady = true;
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let nextCheck = Date.now() + 100;
    while (Date.now() < deadline) {
      if (agentReady) return "agent";
      if (Date.now() >= nextCheck) {
        nextCheck = Date.now() + 100;
        const logs = await container.logs({ stdout: true, stderr: false }).catch(() => Buffer.alloc(0));
        if (Buffer.from(logs as unknown as Buffer).includes("stigmer-keeper: exec")) return "exec";
        const state = await container.inspect().catch(() => undefined);
        if (!state?.State.Running) {
          throw new BackendUnavailableError(
            `The sandbox container exited right after starting (exit code ${state?.State.ExitCode ?? "unknown"}): the image needs /bin/sh; check it with docker run --rm -it IMAGE sh.`,
          );
        }
      }
      await sleep(3);
    }
    throw new BackendUnavailableError(
      `The sandbox container did not become ready within ${READY_TIMEOUT_MS / 1000} s: is ${this.options.stateDir} on the same machine as the Docker engine?`,
    );
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
    const sandbox: Sandbox = { ...rest, files, active: 0, dead: false };
    fields.channel?.onLost(() => this.invalidate(sandbox, "the sandbox agent disconnected"));
    this.live.add(sandbox);
    if (this.config.cleanup) this.unhook ??= onProcessExit(() => this.releaseOnExit());
    return sandbox;
  }

  private beat(sandbox: Sandbox): void {
    touchRecord(sandbox.dir);
    sandbox.channel?.ping();
  }

  private forget(sandbox: Sandbox): void {
    const key = sandbox.key;
    const current = this.sandboxes.get(key);
    if (current) {
      current.then(
        (s) => {
          if (s === sandbox) this.sandboxes.delete(key);
        },
        () => {},
      );
    }
    void this.destroy(sandbox, "lost");
  }

  private destroy(sandbox: Sandbox, why: string): Promise<void> {
    if (!this.live.has(sandbox)) return Promise.resolve();
    const removal = this.removeSandbox(sandbox, why);
    this.removing.add(removal);
    void removal.finally(() => this.removing.delete(removal));
    return removal;
  }

  private async removeSandbox(sandbox: Sandbox, why: string): Promise<void> {
    this.live.delete(sandbox);
    sandbox.dead = true;
    clearTimeout(sandbox.idleTimer);
    clearInterval(sandbox.beatTimer);
    sandbox.channel?.close();
    const pending = this.sandboxes.get(sandbox.key);
    if (pending) {
      await pending.then(
        (s) => {
          if (s === sandbox) this.sandboxes.delete(sandbox.key);
        },
        () => {},
      );
    }
    this.logger.debug({ container: sandbox.name, why }, "removing sandbox container");
    this.onRemoved(sandbox);
    await removeContainer(this.docker, sandbox.id, sandbox.dir).catch((error) => {
      this.logger.warn({ container: sandbox.name, err: (error as Error).message }, "could not remove a sandbox container");
    });
    if (this.live.size === 0) {
      this.unhook?.();
      this.unhook = undefined;
    }
  }

  // On process exit (and SIGINT/SIGTERM nobody else handles) remove the state directories of
  // cleanup-on sandboxes: synchronous, so it works in an exit handler. The agent loses its
  // connection and exits; the exec-mode keeper finds its lease gone; Docker removes the container.
  private releaseOnExit(): void {
    for (const sandbox of this.live) {
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
