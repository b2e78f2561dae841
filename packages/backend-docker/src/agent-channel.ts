import { createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import type { SandboxStats } from "./agent-runner.js";
import { FrameSocket } from "./frame-socket.js";
import { Frame } from "./frames.js";
import { SandboxGoneError } from "./sandbox-errors.js";

/** What the agent says once connected. */
export interface AgentReady {
  version: number;
  pid: number;
  workspace: string;
  /** How full the sandbox was when the agent connected (pids, memory); absent from older agents. */
  stats?: SandboxStats;
}

const AUTH_TIMEOUT_MS = 2000;
const STREAM_TIMEOUT_MS = 10_000;
/** Connections that have not authenticated yet, at most (sandbox processes can connect too). */
const MAX_UNAUTHENTICATED = 16;

/**
 * The host's end of the channel to one sandbox's agent. The host listens on a socket in the
 * sandbox's channel directory, which the sandbox sees read-only: the host never opens a path the
 * sandbox could have written, and processes in the sandbox cannot plant sockets for the agent to
 * trust. Anyone in the sandbox can connect to the host's socket, so every connection must prove
 * it knows the agent's token (an HMAC of a fresh nonce) before anything is sent to it.
 */
export class AgentChannel {
  readonly ready: Promise<AgentReady>;
  private control: FrameSocket | undefined;
  private readonly pending = new Map<string, (socket: FrameSocket) => void>();
  private readonly lostHandlers = new Set<() => void>();
  private unauthenticated = 0;
  private resolveReady!: (ready: AgentReady) => void;
  private closed = false;
  private controlWaiters: Array<() => void> = [];

  private constructor(
    private readonly server: Server,
    readonly socketPath: string,
    private readonly token: Buffer,
  ) {
    this.ready = new Promise((resolve) => {
      this.resolveReady = resolve;
    });
    server.on("connection", (socket) => void this.accept(socket));
  }

  /** Listens on a new socket in `channelDir` (which the sandbox mounts read-only). */
  static async listen(channelDir: string, token: string): Promise<AgentChannel> {
    const socketPath = join(channelDir, `${process.pid}-${randomBytes(2).toString("hex")}.sock`);
    if (Buffer.byteLength(socketPath) > 107) {
      throw new Error(`the socket path ${socketPath} is too long for a Unix socket: set plugins.docker.stateDir to a shorter directory`);
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.unref();
    return new AgentChannel(server, socketPath, Buffer.from(token));
  }

  private async accept(socket: Socket): Promise<void> {
    if (this.closed || this.unauthenticated >= MAX_UNAUTHENTICATED) return void socket.destroy();
    this.unauthenticated++;
    const conn = new FrameSocket(socket);
    const nonce = randomBytes(16).toString("hex");
    const timer = setTimeout(() => socket.destroy(), AUTH_TIMEOUT_MS);
    let auth: { mac?: unknown; role?: unknown; stream?: unknown } | undefined;
    try {
      await conn.sendJson(Frame.HELLO, { nonce });
      const frame = await conn.next();
      if (frame?.type === Frame.AUTH) auth = JSON.parse(frame.payload.toString("utf8"));
    } catch {
      auth = undefined;
    } finally {
      clearTimeout(timer);
      this.unauthenticated--;
    }
    const expected = Buffer.from(createHmac("sha256", this.token).update(nonce).digest("hex"));
    const given = Buffer.from(typeof auth?.mac === "string" ? auth.mac : "");
    if (!auth || given.length !== expected.length || !timingSafeEqual(given, expected)) return void socket.destroy();
    if (auth.role === "stream" && typeof auth.stream === "string") {
      const claim = this.pending.get(auth.stream);
      this.pending.delete(auth.stream);
      if (claim) claim(conn);
      else socket.destroy();
      return;
    }
    if (auth.role !== "control") return void socket.destroy();
    const hello = await conn.next();
    if (hello?.type !== Frame.READY) return void socket.destroy();
    this.control?.close();
    this.control = conn;
    this.resolveReady(JSON.parse(hello.payload.toString("utf8")) as AgentReady);
    for (const wake of this.controlWaiters.splice(0)) wake();
    for await (const _ of conn) {
      // the agent sends nothing more on the control connection
    }
    if (this.control === conn) {
      this.control = undefined;
      for (const handler of this.lostHandlers) handler();
    }
  }

  /** True while the agent is connected. */
  get connected(): boolean {
    return this.control !== undefined;
  }

  /** Calls `handler` when the agent's control connection drops (the sandbox died or restarted). */
  onLost(handler: () => void): void {
    this.lostHandlers.add(handler);
  }

  private async controlConnection(): Promise<FrameSocket> {
    if (this.control) return this.control;
    if (this.closed) throw new SandboxGoneError("the channel to the sandbox agent is closed");
    // The agent reconnects within a moment when it lost the connection: wait a little for it.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SandboxGoneError("the sandbox agent is not connected")), 3000);
      this.controlWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.control as unknown as FrameSocket;
  }

  /** A new connection for one request (a command, a push, a pull), opened by the agent at our request. */
  async openStream(): Promise<FrameSocket> {
    const control = await this.controlConnection();
    const id = randomUUID();
    return new Promise<FrameSocket>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SandboxGoneError("the sandbox agent did not answer"));
      }, STREAM_TIMEOUT_MS);
      this.pending.set(id, (conn) => {
        clearTimeout(timer);
        resolve(conn);
      });
      void control.sendJson(Frame.OPEN, { stream: id });
    });
  }

  /** Tells the agent the host still uses the sandbox (its lease starts again). */
  ping(): void {
    void this.control?.sendJson(Frame.PING, {});
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
    rmSync(this.socketPath, { force: true });
    this.control?.close();
    this.control = undefined;
  }
}
