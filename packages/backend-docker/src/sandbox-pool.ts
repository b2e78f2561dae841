import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BackendUnavailableError,
  type Logger,
  NotFoundError,
  type OutputSink,
  type SandboxInfo,
  type StigmerConfig,
  unlessAborted,
} from "@stigmer/core";
import type Docker from "dockerode";
import { engineUnavailable, isConnectionError, statusOf } from "./docker-errors.js";
import type { ResolvedDockerOptions } from "./docker-options.js";
import { ensureImage } from "./ensure-image.js";
import { KEEPER_SCRIPT } from "./keeper.js";
import { LABELS, MANAGED_BY, OWNER, ownerAlive } from "./labels.js";

export interface SandboxSpec {
  image: string;
  /** Host project directory, mounted at the workspace path. */
  workspace: string;
}

/** One live container this process uses. */
export interface Sandbox {
  readonly id: string;
  readonly name: string;
  readonly key: string;
  readonly spec: SandboxSpec;
  /** Host state directory, mounted at /run/stigmer. */
  readonly dir: string;
  readonly socketPath: string;
  /** `agent`: commands go through the in-sandbox agent's socket; `exec`: through `docker exec`. */
  readonly mode: "agent" | "exec";
  /** User that runs commands, when not the container's default. */
  readonly user: string | undefined;
  active: number;
  dead: boolean;
  idleTimer?: NodeJS.Timeout | undefined;
  beatTimer?: NodeJS.Timeout | undefined;
}

const READY_TIMEOUT_MS = 20_000;
/** A stopped container younger than this may still be starting in another process. */
const STARTING_GRACE_MS = 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Creates, reuses and reclaims sandbox containers. A container serves one (image, project, settings)
 * key; it is reused while idle less than the TTL, then removed; `dispose` removes this process's
 * containers when cleanup is on. The reaper removes what earlier processes left behind.
 */
export class SandboxPool {
  private readonly sandboxes = new Map<string, Promise<Sandbox>>();
  private readonly live = new Set<Sandbox>();
  private reaped: Promise<void> | undefined;
  private readonly exitHook = () => this.releaseOnExit();
  private hooked = false;

  constructor(
    private readonly docker: Docker,
    private readonly config: StigmerConfig["sandbox"],
    private readonly options: ResolvedDockerOptions,
    private readonly agentScript: string,
    private readonly logger: Logger,
  ) {}

  /** Hash of everything that makes two containers interchangeable. */
  keyOf(spec: SandboxSpec): string {
    const { image, workspace } = spec;
    const { network, memoryBytes, cpus, pidsLimit } = this.config;
    const { user, capAdd, privileged, noNewPrivileges, readOnlyRootfs, workspacePath, agent } = this.options;
    const material = JSON.stringify([
      image,
      workspace,
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
    ]);
    return createHash("sha256").update(material).digest("hex").slice(0, 16);
  }

  /** A running sandbox for `spec`, created (image pulled) on first use. Pair with {@link release}. */
  async acquire(spec: SandboxSpec, output: OutputSink, signal: AbortSignal): Promise<Sandbox> {
    this.reaped ??= this.reap().catch((error) => {
      this.reaped = undefined;
      throw error;
    });
    await this.reaped;
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
      // While commands run, keep the heartbeat fresh so the keeper does not expire a busy sandbox.
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

  /** Marks a sandbox unusable (container gone or broken): the next acquire creates a fresh one. */
  invalidate(sandbox: Sandbox, why: string): void {
    if (sandbox.dead) return;
    sandbox.dead = true;
    this.logger.warn({ container: sandbox.name, why }, "sandbox container lost; the next command gets a fresh one");
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
    this.unhook();
  }

  /** Every container Stigmer manages on this engine. */
  async list(): Promise<SandboxInfo[]> {
    const containers = await this.listManaged();
    return containers.map((c) => this.info(c));
  }

  async remove(idOrName: string): Promise<void> {
    const found = (await this.listManaged()).find(
      (c) => c.Id === idOrName || c.Id.startsWith(idOrName) || c.Names.some((n) => n === `/${idOrName}`),
    );
    if (!found) throw new NotFoundError(`No Stigmer sandbox container is named or numbered "${idOrName}": see stigmer sandbox ls.`);
    const mine = [...this.live].find((s) => s.id === found.Id);
    if (mine) await this.destroy(mine, "removed on request");
    else await this.removeContainer(found.Id, found.Labels[LABELS.stateDir]);
  }

  async prune(options: { all?: boolean } = {}): Promise<SandboxInfo[]> {
    const removed: SandboxInfo[] = [];
    for (const c of await this.listManaged()) {
      const mine = [...this.live].find((s) => s.id === c.Id);
      if (mine && mine.active > 0) continue;
      // --all takes every kept or orphaned sandbox, never one a live process owns and will clean up itself.
      const ownedElsewhere =
        !mine && c.Labels[LABELS.cleanup] === "true" && ownerAlive(c.Labels[LABELS.owner]) && c.Labels[LABELS.owner] !== OWNER;
      if ((options.all && !ownedElsewhere) || this.isReclaimable(c)) {
        if (mine) await this.destroy(mine, "pruned");
        else await this.removeContainer(c.Id, c.Labels[LABELS.stateDir]);
        removed.push(this.info(c));
      }
    }
    this.removeStrayStateDirs(new Set((await this.listManaged()).map((c) => c.Labels[LABELS.stateDir] ?? "")));
    return removed;
  }

  /** Removes leftovers of earlier processes: stopped, expired, or orphaned with cleanup on. */
  private async reap(): Promise<void> {
    const containers = await this.listManaged();
    for (const c of containers) {
      if (!this.isReclaimable(c)) continue;
      this.logger.info({ container: c.Names[0], owner: c.Labels[LABELS.owner], state: c.State }, "reaping a leftover sandbox container");
      await this.removeContainer(c.Id, c.Labels[LABELS.stateDir]).catch(() => {});
    }
    this.removeStrayStateDirs(new Set(containers.map((c) => c.Labels[LABELS.stateDir] ?? "")));
  }

  private isReclaimable(c: Docker.ContainerInfo): boolean {
    if ([...this.live].some((s) => s.id === c.Id)) return false;
    const labels = c.Labels;
    const ownerGone = !ownerAlive(labels[LABELS.owner]);
    // Another live process may be creating this one right now: leave young stopped containers to it.
    if (c.State !== "running") return ownerGone || Date.now() - c.Created * 1000 > STARTING_GRACE_MS;
    if (labels[LABELS.cleanup] === "true" && ownerGone) return true;
    const expires = this.expiry(labels);
    return expires !== undefined && expires < Date.now();
  }

  /** Heartbeat mtime + TTL, or undefined when the state directory is not on this host. */
  private expiry(labels: Record<string, string>): number | undefined {
    const dir = labels[LABELS.stateDir];
    if (!dir) return undefined;
    try {
      return statSync(join(dir, "heartbeat")).mtimeMs + Number(labels[LABELS.ttl] ?? 0) * 1000;
    } catch {
      return existsSync(dir) ? undefined : 0;
    }
  }

  private info(c: Docker.ContainerInfo): SandboxInfo {
    const labels = c.Labels;
    const expires = this.expiry(labels);
    const dir = labels[LABELS.stateDir];
    let lastUsedAt: string | undefined;
    try {
      if (dir) lastUsedAt = statSync(join(dir, "heartbeat")).mtime.toISOString();
    } catch {
      // no heartbeat: not used from this host
    }
    return {
      id: c.Id,
      name: (c.Names[0] ?? "").replace(/^\//, ""),
      backend: "docker",
      image: labels[LABELS.image] ?? c.Image,
      state: c.State,
      ...(labels[LABELS.workspace] ? { workspace: labels[LABELS.workspace] } : {}),
      createdAt: labels[LABELS.created] ?? new Date(c.Created * 1000).toISOString(),
      ...(lastUsedAt ? { lastUsedAt } : {}),
      ...(expires ? { expiresAt: new Date(expires).toISOString() } : {}),
      ...(labels[LABELS.owner] ? { owner: (labels[LABELS.owner] as string).split(":").slice(0, 2).join(":") } : {}),
      ownedByThisProcess: labels[LABELS.owner] === OWNER,
    };
  }

  private async listManaged(): Promise<Docker.ContainerInfo[]> {
    try {
      return await this.docker.listContainers({ all: true, filters: { label: [`${LABELS.managedBy}=${MANAGED_BY}`] } });
    } catch (error) {
      throw isConnectionError(error) ? engineUnavailable(this.docker, error) : error;
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
    const candidates = await this.docker.listContainers({
      filters: { label: [`${LABELS.key}=${key}`, `${LABELS.cleanup}=false`], status: ["running"] },
    });
    for (const c of candidates) {
      const dir = c.Labels[LABELS.stateDir];
      if (!dir || (this.expiry(c.Labels) ?? 0) < Date.now()) continue;
      const mode = existsSync(join(dir, "agent.sock")) ? "agent" : existsSync(join(dir, "mode")) ? "exec" : undefined;
      if (!mode) continue;
      const sandbox = this.track({
        id: c.Id,
        name: (c.Names[0] ?? "").replace(/^\//, ""),
        key,
        spec,
        dir,
        mode,
        user: await this.commandUser(spec.image),
      });
      this.beat(sandbox);
      this.logger.debug({ container: sandbox.name }, "reusing a sandbox container left by an earlier process");
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
    const name = `stigmer-${key.slice(0, 8)}-${randomBytes(3).toString("hex")}`;
    const dir = join(this.options.stateDir, name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    copyFileSync(this.agentScript, join(dir, "stigmer-agent.py"));
    writeFileSync(join(dir, "heartbeat"), "");
    output.progress({ phase: "create", message: `starting sandbox ${name} from ${spec.image}` });
    const { network, memoryBytes, cpus, pidsLimit, ttlSeconds, cleanup } = this.config;
    const o = this.options;
    let id: string | undefined;
    try {
      const container = await this.docker.createContainer({
        name,
        Image: spec.image,
        Entrypoint: ["/bin/sh", "-c", KEEPER_SCRIPT, "stigmer-keeper"],
        Cmd: [String(ttlSeconds), String(o.killGraceMs / 1000), o.agent ? "1" : "0"],
        // The keeper runs as root to own its socket; commands run as the command user (see commandUser).
        User: "0:0",
        WorkingDir: o.workspacePath,
        Labels: {
          [LABELS.managedBy]: MANAGED_BY,
          [LABELS.owner]: OWNER,
          [LABELS.image]: spec.image,
          [LABELS.key]: key,
          [LABELS.workspace]: spec.workspace,
          [LABELS.ttl]: String(ttlSeconds),
          [LABELS.cleanup]: String(cleanup),
          [LABELS.stateDir]: dir,
          [LABELS.created]: new Date().toISOString(),
        },
        HostConfig: {
          AutoRemove: true,
          Init: true,
          Binds: [`${spec.workspace}:${o.workspacePath}`, `${dir}:/run/stigmer`],
          NetworkMode: network,
          ...(memoryBytes > 0 ? { Memory: memoryBytes, MemorySwap: memoryBytes } : {}),
          ...(cpus > 0 ? { NanoCpus: Math.round(cpus * 1e9) } : {}),
          ...(pidsLimit > 0 ? { PidsLimit: pidsLimit } : {}),
          Privileged: o.privileged,
          CapDrop: o.privileged ? [] : ["ALL"],
          CapAdd: o.privileged ? [] : o.capAdd,
          SecurityOpt: o.noNewPrivileges ? ["no-new-privileges:true"] : [],
          ReadonlyRootfs: o.readOnlyRootfs,
          ...(o.readOnlyRootfs ? { Tmpfs: { "/tmp": "rw,exec,nosuid,size=1g" } } : {}),
        },
      });
      id = container.id;
      await container.start();
      const mode = await this.waitReady(container, dir);
      const sandbox = this.track({ id, name, key, spec, dir, mode, user: await this.commandUser(spec.image) });
      this.logger.debug({ container: name, mode, image: spec.image }, "sandbox container started");
      return sandbox;
    } catch (error) {
      if (id) await this.removeContainer(id, dir).catch(() => {});
      else rmSync(dir, { recursive: true, force: true });
      if (isConnectionError(error)) throw engineUnavailable(this.docker, error);
      if (statusOf(error) !== undefined) {
        throw new BackendUnavailableError(`Docker refused to start a sandbox from ${spec.image}: ${(error as Error).message.trim()}.`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  /** The user commands run as: the configured one, else the image's USER (root when it has none). */
  private async commandUser(image: string): Promise<string | undefined> {
    if (this.options.user) return this.options.user;
    const info = await this.docker.getImage(image).inspect();
    return info.Config?.User || undefined;
  }

  private async waitReady(container: Docker.Container, dir: string): Promise<"agent" | "exec"> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let nextInspect = Date.now() + 250;
    while (Date.now() < deadline) {
      if (existsSync(join(dir, "agent.sock"))) return "agent";
      if (existsSync(join(dir, "mode"))) return "exec";
      if (Date.now() >= nextInspect) {
        nextInspect = Date.now() + 250;
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

  private track(fields: Omit<Sandbox, "active" | "dead" | "socketPath">): Sandbox {
    const sandbox: Sandbox = { ...fields, socketPath: join(fields.dir, "agent.sock"), active: 0, dead: false };
    this.live.add(sandbox);
    this.hook();
    return sandbox;
  }

  private beat(sandbox: Sandbox): void {
    const now = new Date();
    try {
      utimesSync(join(sandbox.dir, "heartbeat"), now, now);
    } catch {
      // the state directory is gone: the keeper exits, and the next command notices
    }
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

  private async destroy(sandbox: Sandbox, why: string): Promise<void> {
    if (!this.live.delete(sandbox)) return;
    sandbox.dead = true;
    clearTimeout(sandbox.idleTimer);
    clearInterval(sandbox.beatTimer);
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
    await this.removeContainer(sandbox.id, sandbox.dir).catch((error) => {
      this.logger.warn({ container: sandbox.name, err: (error as Error).message }, "could not remove a sandbox container");
    });
    if (this.live.size === 0) this.unhook();
  }

  private async removeContainer(id: string, dir: string | undefined): Promise<void> {
    if (dir) rmSync(dir, { recursive: true, force: true });
    try {
      await this.docker.getContainer(id).remove({ force: true });
    } catch (error) {
      const status = statusOf(error);
      if (status !== 404 && status !== 409) throw isConnectionError(error) ? engineUnavailable(this.docker, error) : error;
    }
  }

  private removeStrayStateDirs(inUse: Set<string>): void {
    let entries: string[];
    try {
      entries = readdirSync(this.options.stateDir);
    } catch {
      return;
    }
    for (const entry of entries) {
      const dir = join(this.options.stateDir, entry);
      if (!entry.startsWith("stigmer-") || inUse.has(dir) || [...this.live].some((s) => s.dir === dir)) continue;
      // Another process may have made it a moment ago, before its container exists.
      let touched = 0;
      try {
        touched = statSync(join(dir, "heartbeat")).mtimeMs;
      } catch {
        touched = statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? 0;
      }
      if (Date.now() - touched > STARTING_GRACE_MS) rmSync(dir, { recursive: true, force: true });
    }
  }

  // On process exit (and SIGINT/SIGTERM nobody else handles) delete the state directories of
  // cleanup-on sandboxes: synchronous, so it works in an exit handler; each keeper sees its
  // heartbeat gone within a second and exits, and Docker removes the container.
  private hook(): void {
    if (this.hooked || !this.config.cleanup) return;
    this.hooked = true;
    process.once("exit", this.exitHook);
    process.on("SIGINT", this.onSignal);
    process.on("SIGTERM", this.onSignal);
  }

  private unhook(): void {
    if (!this.hooked) return;
    this.hooked = false;
    process.removeListener("exit", this.exitHook);
    process.removeListener("SIGINT", this.onSignal);
    process.removeListener("SIGTERM", this.onSignal);
  }

  private readonly onSignal = (signal: NodeJS.Signals) => {
    // Someone else (the CLI) handles the signal and disposes us properly: do nothing.
    if (process.listenerCount(signal) > 1) return;
    this.releaseOnExit();
    this.unhook();
    process.kill(process.pid, signal);
  };

  private releaseOnExit(): void {
    for (const sandbox of this.live) rmSync(sandbox.dir, { recursive: true, force: true });
  }
}
