/**
 * The container's main process (under docker-init). With python3 in the image it becomes the
 * agent; without, a watchdog loop that keeps the container up for `docker exec`. Either way it
 * exits — and the auto-removed container with it — once the heartbeat file the host touches is
 * older than the TTL, or gone (the host's exit handler deletes it). So a sandbox never outlives
 * its owner by more than one TTL, even after `kill -9`.
 *
 * Arguments: $1 TTL seconds, $2 kill grace seconds, $3 agent wanted (1/0).
 */
export const KEEPER_SCRIPT = `d=/run/stigmer
if [ "$3" = 1 ] && command -v python3 >/dev/null 2>&1; then
  exec python3 "$d/stigmer-agent.py" "$d/agent.sock" "$d/heartbeat" "$1" "$2"
fi
echo exec > "$d/mode.tmp" && mv "$d/mode.tmp" "$d/mode"
while sleep 1; do
  last=$(stat -c %Y "$d/heartbeat" 2>/dev/null) || exit 0
  [ $(( $(date +%s) - last )) -gt "$1" ] && exit 0
done`;

/**
 * Runs a command under \`docker exec\`, recording its pid so that it can be killed later
 * ($1 execution id, $2 command line).
 */
export const EXEC_WRAPPER = `mkdir -p /tmp/.stigmer-run && echo $$ > "/tmp/.stigmer-run/$1" || exit 125
if command -v bash >/dev/null 2>&1; then exec bash -c "$2"; else exec sh -c "$2"; fi`;

/**
 * Kills an exec'd command's process tree inside the container: the recorded pid and every
 * descendant (found in /proc), SIGTERM then SIGKILL after the grace ($1 execution id, $2 grace in
 * tenths of a second).
 */
export const KILL_SCRIPT = `f="/tmp/.stigmer-run/$1"; [ -f "$f" ] || exit 0; root=$(cat "$f")
tree() {
  for s in /proc/[0-9]*/stat; do cat "$s" 2>/dev/null; echo; done | awk -v root="$root" '
    NF { pid = $1; line = $0; sub(/^.*\\) /, "", line); split(line, f, " "); kids[f[2]] = kids[f[2]] " " pid }
    END { out = root; queue = root
      while (queue != "") { n = split(queue, q, " "); queue = ""
        for (i = 1; i <= n; i++) { m = split(kids[q[i]], c, " "); for (j = 1; j <= m; j++) { out = out " " c[j]; queue = queue " " c[j] } } }
      print out }'
}
pids=$(tree); kill -TERM $pids 2>/dev/null
i=0
while [ "$i" -lt "$2" ]; do
  alive=""; for p in $pids; do [ -d "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && alive="$alive $p"; done
  [ -z "$alive" ] && break
  sleep 0.1; i=$((i + 1))
done
kill -KILL $pids $(tree) 2>/dev/null; rm -f "$f"; exit 0`;
