import { createHash } from "node:crypto";
import type { SandboxFiles } from "./session.js";

/** A script started in a sandbox: its standard output as it arrives, and how it ended. */
export interface RemoteRun {
  /** Read it to the end. */
  stdout: AsyncIterable<Uint8Array>;
  /** Settles once the script has ended. */
  done: Promise<{ exitCode: number; stderr: string }>;
}

/**
 * The one operation a sandbox backend needs for `sync` without an agent of its own: run a POSIX
 * `sh` script in the sandbox, as the user that runs commands, with `args` as `$1…`, feeding `stdin`
 * and streaming back standard output byte for byte. The scripts need `sh`, `find`, `awk`, `tar`
 * and `rm` (GNU or BusyBox).
 */
export interface RemoteSandboxOps {
  run(script: string, args: readonly string[], stdin?: AsyncIterable<Uint8Array>): Promise<RemoteRun>;
}

// What changed since the last sync, by change time (it also catches files written with old
// modification times, as tar, npm and pip do). GNU find compares with nanoseconds (`-cnewer`);
// BusyBox has only whole seconds (`stat -c %Z`), so it takes one second of overlap: a file the
// host had already reported back is recognised on the host and left alone. The mark file holds the
// sync's time in seconds; its modification time is the same moment. Which tools the sandbox has is
// probed once and remembered in "$sd/tools" (every process start costs on a remote sandbox).
const CHANGED = `nl='
'
if [ -f "$sd/tools" ]; then read -r gnufind gnutar < "$sd/tools"; else
  gnufind=0; gnutar=0
  find "$sd" -maxdepth 0 -cnewer "$sd" >/dev/null 2>&1 && gnufind=1
  tar --version 2>/dev/null | grep -q GNU && gnutar=1
  echo "$gnufind $gnutar" > "$sd/tools"
fi
changed() {
  if [ ! -f "$sd/mark" ]; then find . -mindepth 1 ! -name "*$nl*" -print
  elif [ "$gnufind" = 1 ]; then find . -mindepth 1 ! -name "*$nl*" -cnewer "$sd/mark" -print
  else s=$(cat "$sd/mark"); find . -mindepth 1 ! -name "*$nl*" -exec stat -c '%Z %n' {} + | awk -v s="$s" '$1 >= s - 1 { sub(/^[0-9]+ /, ""); print }'
  fi
}`;

/**
 * Push: `$1` workspace, `$2` sync state directory, `$3` reset (1/0). Standard input: the number of
 * deletions on a line, one relative path per line, then a tar archive. The mark moves past what was
 * extracted unless the sandbox had unreported changes (then they, and the pushed files with them,
 * are reported at the next pull; the host recognises its own files and leaves them alone).
 */
export const PUSH_SCRIPT = `set -e
ws=$1; sd=$2
[ -d "$sd" ] || mkdir -p "$sd"
[ -d "$ws" ] || mkdir -p "$ws"
${CHANGED}
cd "$ws"
if [ "$3" = 1 ]; then find . -mindepth 1 -maxdepth 1 -exec rm -rf {} +; rm -f "$sd/mark" "$sd/list"; fi
pending=
[ -f "$sd/mark" ] && pending=$(changed | head -n 1)
IFS= read -r n
i=0
while [ "$i" -lt "$n" ]; do IFS= read -r p; rm -rf -- "./$p"; i=$((i + 1)); done
tar -x -o -f - -C .
if [ -z "$pending" ]; then date +%s > "$sd/mark"; sleep 0.02; fi
find . -mindepth 1 -print > "$sd/list"`;

/**
 * Pull: `$1` workspace, `$2` sync state directory. Standard output: the number of deleted paths
 * on a line, one per line, then a tar archive of what changed since the mark (without recursing
 * into directories; BusyBox tar takes the names as arguments). Names containing a newline are skipped.
 */
export const PULL_SCRIPT = `set -e
ws=$1; sd=$2
[ -d "$sd" ] || mkdir -p "$sd"
${CHANGED}
cd "$ws"
date +%s > "$sd/mark.next"
if [ "$gnufind" = 1 ] && [ -f "$sd/mark" ]; then
  find . -mindepth 1 ! -name "*$nl*" -print \\( -cnewer "$sd/mark" -fprint "$sd/changed" \\) > "$sd/list.new"
else
  find . -mindepth 1 ! -name "*$nl*" -print > "$sd/list.new"
  changed > "$sd/changed"
fi
if [ -f "$sd/list" ]; then
  awk 'NR == FNR { now[$0] = 1; next } !($0 in now) { gone[n++] = $0 } END { print n + 0; for (i = 0; i < n; i++) print gone[i] }' "$sd/list.new" "$sd/list"
else echo 0; fi
if [ ! -s "$sd/changed" ]; then :
elif [ "$gnutar" = 1 ]; then tar -c -f - --no-recursion --hard-dereference -T "$sd/changed"
else
  set --
  while IFS= read -r p; do set -- "$@" "$p"; done < "$sd/changed"
  tar -c -f - --no-recursion -- "$@"
fi
mv "$sd/list.new" "$sd/list"
mv "$sd/mark.next" "$sd/mark"`;

const encoder = new TextEncoder();

/** Splits `count`+1 text lines off the front of a byte stream; the rest streams on. */
async function splitLines(source: AsyncIterable<Uint8Array>): Promise<{ lines: string[]; rest: AsyncIterable<Uint8Array> }> {
  const iterator = source[Symbol.asyncIterator]();
  let buffer = Buffer.alloc(0);
  const lines: string[] = [];
  let wanted = 1;
  while (lines.length < wanted) {
    const newline = buffer.indexOf(0x0a);
    if (newline === -1) {
      const next = await iterator.next();
      if (next.done) break;
      buffer = Buffer.concat([buffer, next.value]);
      continue;
    }
    lines.push(buffer.subarray(0, newline).toString("utf8"));
    buffer = buffer.subarray(newline + 1);
    if (lines.length === 1) wanted = 1 + (Number.parseInt(lines[0] as string, 10) || 0);
  }
  const leftover = buffer;
  return {
    lines,
    rest: {
      async *[Symbol.asyncIterator]() {
        try {
          if (leftover.length > 0) yield leftover;
          for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
        } finally {
          // The reader may stop at the archive's end marker: let the backend close its stream.
          await iterator.return?.();
        }
      },
    },
  };
}

async function* concat(head: Uint8Array, tail: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield head;
  yield* tail;
}

async function finished(run: RemoteRun, what: string): Promise<void> {
  const { exitCode, stderr } = await run.done;
  if (exitCode !== 0)
    throw new Error(`${what} in the sandbox failed (exit ${exitCode}): ${stderr.trim().split("\n").slice(-3).join(" / ")}`);
}

/**
 * `SandboxFiles` for a sandbox reached through {@link RemoteSandboxOps}: the workspace lives at
 * `workspacePath` in the sandbox; sync state (a change-time mark and the last path list) in a
 * directory under /tmp there. What the sandbox reports is checked by core on the host, so a
 * sandbox that lies gains nothing.
 */
export function remoteSandboxFiles(
  ops: RemoteSandboxOps,
  options: {
    key: string;
    fresh: boolean;
    workspacePath: string;
    stateDir?: string;
    /** Where in the sandbox the scripts keep their state (a change-time mark, the last path list). Default under /tmp. */
    syncDir?: string;
  },
): SandboxFiles {
  const syncDir = options.syncDir ?? `/tmp/.stigmer-sync/${createHash("sha256").update(options.key).digest("hex").slice(0, 16)}`;
  return {
    key: options.key,
    fresh: options.fresh,
    ...(options.stateDir ? { stateDir: options.stateDir } : {}),
    async push(archive, deletions, { reset }) {
      const listed = deletions.filter((path) => !path.includes("\n"));
      const head = encoder.encode(`${listed.length}\n${listed.map((path) => `${path}\n`).join("")}`);
      const run = await ops.run(PUSH_SCRIPT, [options.workspacePath, syncDir, reset ? "1" : "0"], concat(head, archive));
      for await (const _ of run.stdout) {
      }
      await finished(run, "Copying the project");
    },
    async pull() {
      const run = await ops.run(PULL_SCRIPT, [options.workspacePath, syncDir]);
      const { lines, rest } = await splitLines(run.stdout);
      const deletions = lines.slice(1).filter((line) => line !== "");
      const archive = (async function* () {
        yield* rest;
        await finished(run, "Collecting the sandbox's changes");
      })();
      return { archive, deletions };
    },
  };
}
