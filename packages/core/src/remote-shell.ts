/**
 * Shell pieces for backends that run commands through a shell: how the command text reaches the
 * shell without being an argument ({@link commandReader}), and, for backends that run commands in a
 * remote POSIX sandbox through an API that cannot signal a process itself (a container engine's exec, cloud
 * sandbox sessions), a wrapper that records the command's pid and {@link TREE_KILL_SCRIPT}, which a
 * second call runs to kill the tree. They need only `sh`, `cat`, `awk`, `grep`, `sleep`, `/proc`,
 * and, without bash, `dd` and `wc`.
 */

/** Directory inside the sandbox where wrappers record pids (`<dir>/<execution id>`). */
export const REMOTE_RUN_DIR = "/tmp/.stigmer-run";

/**
 * Largest command text a backend may pass as one argument (`sh -c <command>`): Linux refuses a
 * single argument over 128 KiB (MAX_ARG_STRLEN); above this, use {@link commandReader}.
 */
export const ARG_SAFE_BYTES = 64 * 1024;

/** What {@link commandReader} prints on stdout, with `announce`, once the command has arrived whole. */
export const COMMAND_ARRIVED = "\x06";

/**
 * A `-c` script that reads the command, `$1` bytes, from file descriptor `fd` and runs it, for
 * `<shell> -c <script> <$0> <bytes>`: the command text is never an argument, which Linux refuses
 * over 128 KiB (MAX_ARG_STRLEN). The command then runs as with `<shell> -c <command>`: the same `$0`,
 * no positional parameters, the rest of stdin, its exit status; a `<fd>` other than 0 is closed
 * first. `eval` keeps the shell as the parent of a last simple command that `-c` would have
 * exec'd, and names itself in syntax errors (`eval: line 1:` for `-c: line 1:`).
 *
 * bash reads it with one builtin (no fork: in the C locale `read -N` counts bytes and reads in
 * blocks, never past the command, so the rest of stdin stays the command's). Other shells read it
 * with `cat` from a descriptor of its own, or from stdin with `dd iflag=fullblock` (GNU, BusyBox:
 * `head -c` may read past the command), and check its length with `wc -c`. A command that does not
 * arrive whole (its sender died) is not run: exit 125. With `announce`, {@link COMMAND_ARRIVED} is
 * printed on stdout once it has arrived, so that a caller can tell a command that started from a
 * shell that could not.
 */
export function commandReader(shell: "bash" | "sh", fd: number, announce = false): string {
  const incomplete = `{ echo "stigmer: the command did not arrive whole ($1 bytes)" >&2; exit 125; }`;
  const close = fd === 0 ? "" : `exec ${fd}<&-; `;
  const arrived = announce ? `printf '\\006'; ` : "";
  if (shell === "bash") {
    return `LC_ALL=C IFS= read -r -N "$1"${fd === 0 ? "" : ` -u ${fd}`} || ${incomplete}; set --; ${close}${arrived}eval "unset REPLY; $REPLY"`;
  }
  const v = "__stigmer_command";
  const read = fd === 0 ? `dd bs="$1" count=1 iflag=fullblock 2>/dev/null` : `cat <&${fd}`;
  return `${v}=$(${read}; echo .) && ${v}=\${${v}%.} && [ "$(printf %s "$${v}" | wc -c)" -eq "$1" ] || ${incomplete}; set --; ${close}${arrived}eval "unset ${v}; $${v}"`;
}

/**
 * Records the shell's pid in `REMOTE_RUN_DIR/$1`, then replaces itself with bash (or sh where bash
 * is missing) running {@link commandReader} on stdin with `announce`: the command, `$2` bytes, comes
 * first on stdin, then the command's own stdin. The recorded pid is the command's shell. Output
 * before {@link COMMAND_ARRIVED} is the wrapper's (or the engine's) error, never the command's.
 * Use: `sh -c PID_RECORDING_WRAPPER stigmer-exec <execution id> <command bytes>`.
 */
export const PID_RECORDING_WRAPPER = `case $2 in ''|*[!0-9]*) echo "stigmer-exec: no command length" >&2; exit 125 ;; esac
mkdir -p ${REMOTE_RUN_DIR} && echo $$ > "${REMOTE_RUN_DIR}/$1" || exit 125
if command -v bash >/dev/null 2>&1; then exec bash -c ${shellQuote(commandReader("bash", 0, true))} bash "$2"; fi
command -v dd >/dev/null 2>&1 && command -v wc >/dev/null 2>&1 || { echo "stigmer-exec: the sandbox has neither bash nor dd and wc" >&2; exit 125; }
exec sh -c ${shellQuote(commandReader("sh", 0, true))} sh "$2"`;

/**
 * Marks a command without a pid file: a command started with `STIGMER_RUN_ID=<execution id>` in its
 * environment is found by {@link TREE_KILL_SCRIPT} through /proc/<pid>/environ (saves the wrapper
 * process and the pid file, for backends where each process start is costly).
 */
export const RUN_ID_VARIABLE = "STIGMER_RUN_ID";

/**
 * Kills a wrapped command's process tree: the recorded pid (or, without a pid file, every process
 * whose environment carries `STIGMER_RUN_ID=<id>`) and every descendant (found in /proc), SIGTERM,
 * then SIGKILL once the grace is over; removes the pid file. With a third argument `1` it also
 * kills every process carrying the marker, with its descendants: what the command left running in
 * the background, double-forked daemons included.
 * Use: `sh -c TREE_KILL_SCRIPT stigmer-kill <execution id> <grace in tenths of a second> [1]`.
 */
export const TREE_KILL_SCRIPT = `f="${REMOTE_RUN_DIR}/$1"
marked() { grep -l -a -F "${RUN_ID_VARIABLE}=$1" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3; }
if [ -f "$f" ]; then base=$(cat "$f"); else base=$(marked "$1"); fi
roots() { if [ "$3" = 1 ]; then echo $base $(marked "$1"); else echo $base; fi; }
[ -n "$(roots "$@")" ] || exit 0
tree() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$(roots "$@")" '
    NF { pid = $1; line = $0; sub(/^.*\\) /, "", line); split(line, f, " "); kids[f[2]] = kids[f[2]] " " pid }
    END { out = root; queue = root
      while (queue != "") { n = split(queue, q, " "); queue = ""
        for (i = 1; i <= n; i++) { m = split(kids[q[i]], c, " "); for (j = 1; j <= m; j++) { out = out " " c[j]; queue = queue " " c[j] } } }
      print out }'
}
alive() { for p in $(tree "$@"); do [ "$p" != "$$" ] && [ -d "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && echo "$p"; done; }
kill -TERM $(tree "$@") 2>/dev/null
i=0
while [ "$i" -lt "$2" ] && [ -n "$(alive "$@")" ]; do sleep 0.1; i=$((i + 1)); done
# A fork bomb outruns one round: freeze what is found, kill it, look again.
i=0
while [ "$i" -lt 20 ]; do
  left=$(alive "$@"); [ -z "$left" ] && break
  kill -STOP $left 2>/dev/null; kill -KILL $left 2>/dev/null; i=$((i + 1))
done
rm -f "$f"; exit 0`;

/** Quotes one word for a POSIX shell: `it's` → `'it'\\''s'`. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Joins words into one shell command line, each quoted. */
export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(" ");
}
