import { readFileSync } from "node:fs";

/**
 * What a sandbox on this machine needs to reach the network the way the host does: the certificate
 * authorities the host trusts (behind a TLS-inspecting proxy, its CA is among them) and the
 * host's proxy settings. For backends that run sandboxes on the host's own network (containers).
 */

/** System CA bundles, by distribution. */
const SYSTEM_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/ca-bundle.pem",
  "/etc/ssl/cert.pem",
];
/** Variables that name extra CA files, as tools read them. */
export const CA_VARIABLES = [
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "REQUESTS_CA_BUNDLE",
  "CURL_CA_BUNDLE",
  "PIP_CERT",
  "GIT_SSL_CAINFO",
  "AWS_CA_BUNDLE",
] as const;
/** Proxy variables passed on, in both cases as tools differ in which they read. */
export const PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "ALL_PROXY", "NO_PROXY"] as const;

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export interface HostCertificates {
  /** Every certificate found, deduplicated, as one PEM bundle (empty when none). */
  pem: string;
  count: number;
  /** The files they were read from. */
  sources: string[];
}

/** The CAs the host trusts: its system bundle and the files the usual variables name. */
export function hostCertificates(env: Record<string, string | undefined> = process.env): HostCertificates {
  const seen = new Set<string>();
  const certificates: string[] = [];
  const sources: string[] = [];
  const system = SYSTEM_BUNDLES.find((path) => {
    try {
      return readFileSync(path, "utf8").includes("BEGIN CERTIFICATE");
    } catch {
      return false;
    }
  });
  const files = [...(system ? [system] : []), ...CA_VARIABLES.flatMap((name) => (env[name] ? [env[name] as string] : []))];
  for (const file of new Set(files)) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    let added = false;
    for (const block of text.match(PEM) ?? []) {
      const key = block.replace(/\s+/g, "");
      if (seen.has(key)) continue;
      seen.add(key);
      certificates.push(block);
      added = true;
    }
    if (added) sources.push(file);
  }
  return { pem: certificates.length > 0 ? `${certificates.join("\n")}\n` : "", count: certificates.length, sources };
}

/** The host's proxy settings, each under its upper- and lower-case name. */
export function hostProxyEnv(env: Record<string, string | undefined> = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PROXY_VARIABLES) {
    const value = env[name] ?? env[name.toLowerCase()];
    if (value === undefined || value.trim() === "") continue;
    out[name] = value;
    out[name.toLowerCase()] = value;
  }
  return out;
}

/** A URL or `host:port` with any credentials replaced by `***`, for logs and `stigmer doctor`. */
export function redactCredentials(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/@\s]+@/i, (_, scheme: string | undefined) => `${scheme ?? ""}***@`);
}

/**
 * `url` without anything that may be a credential: userinfo becomes `***@`, a query `?***`, a
 * fragment `#***`. Works on text that is not a valid URL too (it may still hold a key).
 */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    const userinfo = url.username || url.password ? "***@" : "";
    const query = url.search || text.includes("?") ? "?***" : "";
    const fragment = url.hash || text.includes("#") ? "#***" : "";
    return `${url.protocol}//${userinfo}${url.host}${url.pathname}${query}${fragment}`;
  } catch {
    // Not a URL: where a key would start cannot be told, so nothing after the scheme is shown.
    if (!/[@?#]/.test(text)) return text;
    return `${/^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0] ?? ""}***`;
  }
}
