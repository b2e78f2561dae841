import type { Decision } from "./detector.js";
import type { WorkspaceReport } from "./workspace/apply.js";
import type { WorkspaceSession } from "./workspace/session.js";

/** Where a command may run. `auto` asks the detector for each command. */
export type ExecutionMode = "local" | "sandbox" | "auto";
export const EXECUTION_MODES: readonly ExecutionMode[] = ["local", "sandbox", "auto"];

/** Where a command actually runs once the mode is resolved. */
export type Target = "local" | "sandbox";

/** Standard input for a command: text, bytes, or a stream of bytes (ended when the iterable ends). */
export type StdinSource = string | Uint8Array | AsyncIterable<Uint8Array>;

/** What a caller asks the {@link Executor} to run. */
export interface ExecRequest {
  /** One shell command line, as an agent would pass it to `bash -c`. At most 1 MiB, no NUL byte. */
  command: string;
  /** Mode for this command; defaults to the configured mode. */
  mode?: ExecutionMode;
  /** Project directory the command runs in; must exist. Defaults to the process's cwd. */
  cwd?: string;
  /** Variables added to the command's environment. Values never reach logs. */
  env?: Record<string, string>;
  /** Standard input; without it the command reads end-of-file at once. */
  stdin?: StdinSource;
  /** Kill the whole process tree after this many milliseconds; `exit.timedOut` is then true. */
  timeoutMs?: number;
  /** Aborting kills the whole process tree; `exit.cancelled` is then true. */
  signal?: AbortSignal;
  /** Sandbox image for this command (sandbox backends that use images). */
  image?: string;
  /** Caller-chosen execution id (for correlation); generated when absent. */
  id?: string;
}

/** The request a {@link Backend} receives: validated, with the cwd made absolute and one abort signal. */
export interface BackendRequest {
  readonly id: string;
  readonly command: string;
  /** Absolute path of an existing directory on the host (the project directory). */
  readonly cwd: string;
  /** Variables to add to the command's environment (only those the request named). */
  readonly env: Readonly<Record<string, string>>;
  readonly stdin?: StdinSource;
  /** Sandbox image requested for this command, when the caller named one. */
  readonly image?: string;
  /**
   * How the project reaches the sandbox, for backends that declare workspace strategies: `cwd` is
   * then `workspace.root`, already checked as a workspace root.
   */
  readonly workspace?: WorkspaceSession;
  /**
   * Aborted on timeout, cancellation or dispose. The backend must then kill the command's whole
   * process tree and resolve `exec` promptly. `signal.reason` tells why; backends need not care.
   */
  readonly signal: AbortSignal;
}

/** What the backend reports when the command has ended. */
export interface BackendExit {
  /** The command's exit code; `null` when it was ended by a signal. */
  exitCode: number | null;
  /** Name of the signal that ended it (`"SIGKILL"`), or `null`. */
  signal: string | null;
}

export type OutputStream = "stdout" | "stderr";

/** Progress of a preparation step (image pull, sandbox start) before the command runs. */
export interface ProgressInfo {
  /** A short phase name, for example `"pull"` or `"create"`. */
  phase: string;
  /** Human-readable status line. */
  message: string;
  /** Identifier of the item in progress (an image layer, …). */
  item?: string;
  current?: number;
  total?: number;
}

export interface StartEvent {
  type: "start";
  id: string;
  /** The mode that was asked for. */
  mode: ExecutionMode;
  /** Where the command runs. */
  target: Target;
  /** Configured name of the backend that runs it (`local`, a short name, a package name, …). */
  backend: string;
  /** Present in auto mode: which rule decided, and why. */
  decision?: Decision;
  command: string;
  cwd: string;
  startedAt: string;
}
export interface OutputEvent {
  type: OutputStream;
  /** Raw bytes, in the order the command wrote them to this stream. */
  data: Uint8Array;
}
export interface ProgressEvent extends ProgressInfo {
  type: "progress";
}
export interface ExitEvent {
  type: "exit";
  id: string;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
  /** True when retained stdout or stderr was cut (the live stream still carried every byte). */
  truncated: boolean;
  /** With the `sync` workspace strategy: what came back from the sandbox, and what was kept out. */
  workspace?: WorkspaceReport;
}
export type ExecEvent = StartEvent | OutputEvent | ProgressEvent | ExitEvent;

/** The final outcome of one execution. */
export interface ExecResult extends Omit<ExitEvent, "type"> {
  mode: ExecutionMode;
  target: Target;
  backend: string;
  decision?: Decision;
  /** Retained stdout (UTF-8). When longer than the limit: the head and the tail around a marker line. */
  stdout: string;
  stderr: string;
  /** Total bytes written to each stream, retained or not. */
  stdoutBytes: number;
  stderrBytes: number;
}
