/**
 * Shell pieces for backends that run commands in a remote POSIX sandbox through an API that cannot
 * signal a process itself (`docker exec`, cloud sandbox sessions): the command is started by a
 * wrapper that records its pid, and a second call runs {@link TREE_KILL_SCRIPT} to kill the tree.
 * Both need only `sh`, `cat`, `awk`, `grep`, `sleep` and `/proc`.
 */

/** Directory inside the sandbox where wrappers record pids (`<dir>/<execution id>`). */
export const REMOTE_RUN_DIR = "/tmp/.stigmer-run";

/**
 * Records the shell's pid in `REMOTE_RUN_DIR/$1`, then replaces itself with `bash -c "$2"` (or
 * `sh -c` where bash is missing), so the recorded pid is the command's own.
 * Use: `sh -c PID_RECORDING_WRAPPER stigmer-exec <execution id> <command line>`.
 */
export const PID_RECORDING_WRAPPER = `mkdir -p ${REMOTE_RUN_DIR} && echo $$ > "${REMOTE_RUN_DIR}/$1" || exit 125
if command -v bash >/dev/null 2>&1; then exec bash -c "$2"; else exec sh -c "$2"; fi`;

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
  for s in /proc/[0-9]*/stat; do cat "$s" 2>/dev/null; echo; done | awk -v root="$(roots "$@")" '
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
