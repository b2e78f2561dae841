/** Where the sandbox sees its channel directory (read-only), the agent's code, and the host's CA bundle. */
export const CHANNEL_PATH = "/run/stigmer";
export const AGENT_PATH = "/opt/stigmer-agent";
export const TRUST_PATH = "/etc/stigmer";
export const CA_BUNDLE = `${TRUST_PATH}/ca-certificates.crt`;

/**
 * The container's main process (PID 1, no init: as PID 1 it ignores signals from the sandbox's own
 * processes). It first adds the host's CAs to the image's trust stores (for tools that ignore
 * SSL_CERT_FILE, apt among them). Then, with python3 in the image, it becomes the agent; without,
 * it keeps the container up for `docker exec` until the lease file the host touches (in the
 * read-only channel directory) is older than the TTL, or gone. Either way nothing in the sandbox
 * can keep it alive longer.
 *
 * Arguments: $1 TTL seconds, $2 kill grace seconds, $3 agent wanted (1/0), $4 cleanup (1/0),
 * $5 workspace strategy, $6 workspace path.
 */
export const KEEPER_SCRIPT = `if [ -s ${CA_BUNDLE} ]; then
  for f in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/ca-bundle.pem /etc/ssl/cert.pem; do
    [ -f "$f" ] && [ ! -L "$f" ] && cat ${CA_BUNDLE} >> "$f" 2>/dev/null
  done
  [ -d /usr/local/share/ca-certificates ] && cp ${CA_BUNDLE} /usr/local/share/ca-certificates/stigmer-host.crt 2>/dev/null
fi
mkdir -p "$6"
if [ "$3" = 1 ] && command -v python3 >/dev/null 2>&1; then
  exec python3 -B ${AGENT_PATH}/stigmer_agent.py ${CHANNEL_PATH} "$6" "$1" "$2" "$4" "$5"
fi
echo "stigmer-keeper: exec"
while sleep 1; do
  last=$(stat -c %Y ${CHANNEL_PATH}/lease 2>/dev/null) || exit 0
  [ $(( $(date +%s) - last )) -gt "$1" ] && exit 0
done`;
