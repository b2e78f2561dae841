// Types for server.mjs: a local imitation of Daytona's API, toolbox proxy/daemon and event
// gateway for the real `@daytonaio/sdk` 0.218.0 (see the header of server.mjs).

export type SandboxState =
  | "creating"
  | "restoring"
  | "destroyed"
  | "destroying"
  | "started"
  | "stopped"
  | "starting"
  | "stopping"
  | "error"
  | "build_failed"
  | "pending_build"
  | "building_snapshot"
  | "unknown"
  | "pulling_snapshot"
  | "archived"
  | "archiving"
  | "resizing"
  | "snapshotting"
  | "forking"
  | "pausing"
  | "paused"
  | "resuming";

/** How a created sandbox ends up. Default: `started` after `transitionMs`. */
export interface CreateOutcome {
  /** `error` / `build_failed` (with `errorReason`), or `creating` to stay there forever (the client's wait times out). */
  finalState?: SandboxState;
  errorReason?: string;
}

export interface DaytonaImitationOptions {
  /** Accepted bearer token (HTTP, WebSocket upgrade, socket.io auth). Default: a random `dtn_…` key. */
  apiKey?: string;
  /** Duration of each state transition (creating→started, starting→started, stopping→stopped, destroying→destroyed). Default 50 ms. */
  transitionMs?: number;
  /** Length of a "minute" for autoStopInterval / autoDeleteInterval. Default 60000. */
  minuteMs?: number;
  /** If > 0, POST /sandbox (from a snapshot) and /start wait up to this long for the sandbox to start before answering, as the real API does (30 s there). Default 0: answer at once. */
  serverWaitMs?: number;
  organizationId?: string;
  /** Snapshot recorded when neither snapshot nor image is given. */
  defaultSnapshot?: string;
  /** The sandbox OS user when the request names none. Default `daytona`. */
  defaultUser?: string;
  /** SIGTERM→SIGKILL grace when deleting a session / stopping a sandbox (daemon default 5 s). */
  killGraceMs?: number;
  /** Max bytes per log WebSocket frame (daemon: 1024). */
  logFrameBytes?: number;
  /** How long the follow stream waits at EOF before checking the exit code (daemon: 50 × 20 ms). */
  followExitCheckMs?: number;
  /** Decides the outcome of each create (after any queued with `nextCreate`). */
  createOutcome?: (request: Record<string, unknown>) => CreateOutcome | undefined;
}

export interface Fault {
  /** HTTP method to match (any if absent). */
  method?: string;
  /** Suffix of, or RegExp on, the path after `/api` or `/toolbox` (e.g. `/sandbox`, `/process/execute`, `/logs`). Any if absent. */
  path?: string | RegExp;
  /** Only API requests, toolbox requests (HTTP and the logs WebSocket), or anything. */
  kind?: "api" | "toolbox";
  /**
   * Only WebSocket upgrades (true: the logs follow stream), only plain HTTP requests (false: e.g.
   * the stored logs `GET …/logs`), or both (absent). A status on an upgrade is answered as an HTTP
   * response instead of `101`, as Daytona's proxy answers `502` when it cannot reach the daemon.
   */
  websocket?: boolean;
  /** WebSocket only: accept the upgrade, then close at once with this code (e.g. 1011) before any log byte. */
  closeCode?: number;
  closeReason?: string;
  /** Answer with this status (a Daytona-style error body unless `body` is given). */
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait before acting (or before handling the request normally, if nothing else is set). */
  delayMs?: number;
  /** Destroy the connection without a response. For the logs WebSocket with `dropAfterBytes`: accept, then terminate after that many log bytes. */
  drop?: boolean;
  dropAfterBytes?: number;
  /** How many requests it applies to (default 1; Infinity for all). */
  times?: number;
}

export interface RecordedRequest {
  method: string;
  /** Full path as received, e.g. `/api/sandbox` or `/toolbox/{id}/process/execute`. */
  path: string;
  /** Path after the `/api` or `/toolbox` prefix. */
  route: string;
  query: Record<string, string | string[]>;
  /** Status sent (101 for an accepted WebSocket, 0 if the connection was dropped / is still open). */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body (or text); for bulk-upload, the daemon's `{ files }` result. */
  body?: unknown;
  at: number;
  websocket?: true;
}

/** The full Sandbox model the API returns (fields of `@daytona/api-client`'s Sandbox). */
export interface SandboxRecord {
  id: string;
  organizationId: string;
  name: string;
  snapshot?: string;
  user: string;
  env: Record<string, string>;
  labels: Record<string, string>;
  public: boolean;
  target: string;
  cpu: number;
  gpu: number;
  memory: number;
  disk: number;
  state: SandboxState;
  desiredState?: string;
  errorReason?: string;
  backupState?: string;
  autoStopInterval?: number;
  autoArchiveInterval?: number;
  autoDeleteInterval?: number;
  createdAt: string;
  updatedAt: string;
  lastActivityAt?: string;
  toolboxProxyUrl: string;
  [key: string]: unknown;
}

export interface SandboxInspection extends SandboxRecord {
  /** The sandbox root on the host (absolute sandbox paths of the files API map under it). */
  rootDir: string;
  /** The sandbox user's HOME (`{rootDir}/home/{user}`): cwd of sessions and relative paths. */
  homeDir: string;
  sessionIds: string[];
  /** Live pids of each session's shell, its process group and its descendants. */
  sessionPids: Record<string, number[]>;
  /** Live pids of every session shell / running command and their descendants. */
  pids: number[];
}

export interface DaytonaImitation {
  /** Pass as the SDK's `apiUrl` (`http://127.0.0.1:PORT/api`). */
  apiUrl: string;
  /** The `toolboxProxyUrl` of every sandbox record. */
  toolboxProxyUrl: string;
  apiKey: string;
  organizationId: string;
  /** Every HTTP request and WebSocket upgrade, in arrival order. */
  requests: RecordedRequest[];
  faults: {
    add(fault: Fault): Fault;
    clear(): void;
    readonly pending: Fault[];
  };
  /** Queues the outcome of the next `times` creates. */
  nextCreate(outcome: CreateOutcome, times?: number): void;
  sandboxes(): SandboxRecord[];
  sandbox(id: string): SandboxInspection | undefined;
  /** Forces a state (emits `sandbox.state.updated`; stopped/error/… kill the sandbox's processes). */
  setState(id: string, state: SandboxState, errorReason?: string): void;
  /** Stops everything: server, sockets, socket.io, child processes, timers, temp dirs. */
  close(): Promise<void>;
}

export function startDaytonaImitation(options?: DaytonaImitationOptions): Promise<DaytonaImitation>;
