import { createHash } from "node:crypto";
import { hostCertificates, hostProxyEnv, redactCredentials, type StigmerConfig } from "@stigmer/core";

/** What every sandbox of this backend gets from the host: its CAs and its proxy settings. */
export interface SandboxEnvironment {
  /** PEM bundle mounted at /etc/stigmer and added to the image's trust stores; empty when off or none. */
  caBundle: string;
  caCount: number;
  caSources: string[];
  /** Variables every process in the sandbox gets. */
  env: Record<string, string>;
  /** A proxy on the host's loopback is reached as host.docker.internal (mapped to the bridge gateway). */
  hostGateway: boolean;
  /** The proxy variables as `stigmer doctor` shows them (credentials replaced by ***). */
  proxyShown: Record<string, string>;
  /** Changes when any of this changes: part of the sandbox reuse key. */
  fingerprint: string;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|::1)$/i;

/** A proxy URL that names the host's loopback, rewritten to reach the host from a container. */
function fromContainer(value: string): { value: string; rewritten: boolean } {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  try {
    const url = new URL(withScheme);
    if (!LOOPBACK.test(url.hostname)) return { value, rewritten: false };
    url.hostname = "host.docker.internal";
    const text = url.toString().replace(/\/$/, "");
    return { value: withScheme === value ? text : text.replace(/^http:\/\//, ""), rewritten: true };
  } catch {
    return { value, rewritten: false };
  }
}

export function sandboxEnvironment(
  config: StigmerConfig["sandbox"],
  hostEnv: Record<string, string | undefined> = process.env,
): SandboxEnvironment {
  const cas = config.hostCAs ? hostCertificates(hostEnv) : { pem: "", count: 0, sources: [] };
  const env: Record<string, string> = {};
  const proxyShown: Record<string, string> = {};
  let hostGateway = false;
  if (config.hostProxy) {
    for (const [name, raw] of Object.entries(hostProxyEnv(hostEnv))) {
      const isNoProxy = name.toLowerCase() === "no_proxy";
      const { value, rewritten } = isNoProxy ? { value: raw, rewritten: false } : fromContainer(raw);
      hostGateway ||= rewritten;
      env[name] = value;
      if (name === name.toUpperCase()) proxyShown[name] = isNoProxy ? value : redactCredentials(value);
    }
  }
  const fingerprint = createHash("sha256").update(cas.pem).update(JSON.stringify(env)).digest("hex").slice(0, 12);
  return { caBundle: cas.pem, caCount: cas.count, caSources: cas.sources, env, hostGateway, proxyShown, fingerprint };
}
