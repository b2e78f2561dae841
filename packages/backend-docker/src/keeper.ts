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
