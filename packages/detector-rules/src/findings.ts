/**
 * Every finding the detector can report: one id, one meaning, one description. Sandbox findings
 * name the clause of the auto-mode policy (docs/auto-mode-policy.md) they implement; local
 * findings explain a local decision. Tool data (src/tools) and handlers (src/handlers) refer to
 * these ids only, so a typo is a type error and the policy text lives here, once.
 */
export type PolicyClause = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

export interface FindingSpec {
  readonly verdict: "sandbox" | "local";
  /** The policy clause a sandbox finding implements. */
  readonly policy?: PolicyClause;
  /** What the finding means, in the words a user understands. */
  readonly description: string;
}

const sandbox = (policy: PolicyClause, description: string) => ({ verdict: "sandbox" as const, policy, description });
const local = (description: string) => ({ verdict: "local" as const, description });

export const FINDINGS = {
  // Local: the explanation of a local decision.
  "local.read": local("reads or inspects, changes nothing"),
  "local.project-write": local("writes, moves or deletes named paths inside the project (or a named /tmp path)"),
  "local.project-code": local("runs project code, a build or tests"),
  "local.git": local("recoverable local git"),
  "local.pkg-read": local("read-only package-manager use, or a real dry run"),
  "local.session": local("changes only the shell session's state"),
  "local.network-read": local("reads from the network (GET, DNS, clone, fetch) without running what it gets"),
  "local.shell-function": local("calls a function defined on the same line (its body is judged where it is defined)"),
  "local.known-commands": local("standard utilities and developer tools that read, or write inside the project"),

  // 1. Packages and toolchains.
  "pkg.install": sandbox(1, "installs, removes, upgrades or syncs packages, environments or toolchains"),
  "build.install-target": sandbox(1, "runs an install step that writes outside the project"),

  // 2. State outside the project.
  "fs.write-outside": sandbox(2, "writes, moves, deletes or re-permissions a file outside the project"),
  "sys.config": sandbox(2, "changes user-global or system configuration"),
  "sys.admin": sandbox(2, "changes services, scheduled jobs, the kernel, users, the firewall, mounts, the clock or the network"),
  "sys.signal": sandbox(2, "signals other processes"),
  "sys.fork-bomb": sandbox(2, "starts a self-replicating process tree that starves the host"),
  "infra.change": sandbox(2, "changes container, cluster or cloud state"),
  "remote.change": sandbox(2, "changes a remote repository or service (push, pull request, release, publish)"),
  "net.state-changing-request": sandbox(2, "sends a state-changing request to a host other than this machine"),
  "db.write": sandbox(2, "writes to a database on a server that is not this machine"),
  "git.outside-repository": sandbox(2, "changes a git repository outside the project"),

  // 3. Privilege.
  "priv.escalate": sandbox(3, "runs with more privilege (sudo, su, doas, pkexec)"),
  "priv.owner-or-setuid": sandbox(3, "changes ownership, setuid/setgid bits or file capabilities"),

  // 4. Download and execute.
  "download.execute": sandbox(4, "runs code it downloads"),
  "download.run": sandbox(4, "runs, sources or loads a file downloaded on the same line"),
  "download.launcher": sandbox(4, "downloads and runs a package (npx, dlx, uvx, pipx run, deno run URL)"),

  // 5. Destruction outside the project.
  "fs.destroy-outside": sandbox(5, "deletes recursively or by pattern outside the project"),
  "fs.destroy-unknown": sandbox(5, "deletes a path the detector cannot resolve"),
  "fs.wipe-tmp": sandbox(5, "wipes /tmp wholesale"),
  "fs.device": sandbox(5, "writes to a device"),

  // 6. The project's uncommitted work.
  "git.discard-work": sandbox(6, "discards the project's uncommitted work or history"),
  "fs.wipe-project": sandbox(6, "deletes the whole working tree or its history"),

  // 7. Data off the machine, remote sessions.
  "net.upload": sandbox(7, "uploads local files to another host"),
  "net.exfiltrate": sandbox(7, "puts computed data into a URL, host name or lookup"),
  "net.remote-session": sandbox(7, "opens a remote session, a raw connection, a listener or a tunnel"),
  "net.copy-to-remote": sandbox(7, "copies files to another host"),

  // 8. Cannot be analysed.
  "parse.empty": sandbox(8, "is empty"),
  "parse.error": sandbox(8, "does not parse"),
  "parse.unterminated-heredoc": sandbox(8, "has a heredoc that never ends"),
  "detector.budget": sandbox(8, "is too large, too deep or too slow to analyse within the detector's budget"),
  "detector.internal-error": sandbox(8, "made the detector fail"),
  "exec.eval": sandbox(8, "evaluates a string as code"),
  "exec.dynamic-name": sandbox(8, "runs a command whose name is not a literal"),
  "exec.dynamic-word": sandbox(8, "puts a word that is not a literal where it decides what the program does"),
  "exec.obfuscated": sandbox(8, "spells a command name in a disguised way"),
  "exec.unknown": sandbox(8, "runs a program that is neither a standard utility, a known developer tool nor a project path"),
  "exec.unknown-verb": sandbox(8, "uses a subcommand or argument shape that is not known to be local"),
  "exec.outside-program": sandbox(8, "runs a program or script from outside the project"),
  "exec.outside-tree": sandbox(
    8,
    "points a project tool (build, test, lint, format) at files outside the project, whose code and configuration it loads or whose files it rewrites",
  ),
  "exec.dynamic-code": sandbox(8, "runs code built at run time or held in a variable"),
  "exec.piped-code": sandbox(8, "feeds code to an interpreter through its input"),
  "exec.generated-code": sandbox(8, "runs code generated on the same line that the detector cannot see"),
  "exec.surface": sandbox(8, "makes a program run another program through an option, a config key or a variable"),
  "exec.native": sandbox(8, "loads native code into a program (LD_PRELOAD, extensions)"),

  // Inline code of other languages (python -c, node -e, awk, sed, vim commands …).
  "code.runs-programs": sandbox(8, "inline code that runs other programs"),
  "code.dynamic": sandbox(8, "inline code that evaluates code the detector cannot see"),
  "code.unanalysed": sandbox(8, "inline code in a form the detector cannot analyse"),
  "code.changes-files": sandbox(2, "inline code that writes, moves or deletes files outside the project or at paths it computes"),
  "code.packages": sandbox(1, "inline code that manages packages"),
  "code.network": sandbox(7, "inline code that opens network connections"),
} as const satisfies Record<string, FindingSpec>;

export type FindingId = keyof typeof FINDINGS;
/** A sandbox finding id (what tool data may send a command to). */
export type SandboxFindingId = { [K in FindingId]: (typeof FINDINGS)[K]["verdict"] extends "sandbox" ? K : never }[FindingId];
/** A local finding id. */
export type LocalFindingId = Exclude<FindingId, SandboxFindingId>;

/** One reason for a decision, with the part of the command that triggered it. */
export interface Finding {
  /** A registry id, or `user.deny.<id>` / `user.allow.<id>` for the user's own rules. */
  id: FindingId | `user.deny.${string}` | `user.allow.${string}`;
  verdict: "sandbox" | "local";
  policy?: number;
  /** What happened, in a few words (the registry description, or a more precise one). */
  what: string;
  /** The part of the command line it is about. */
  at: string;
}
