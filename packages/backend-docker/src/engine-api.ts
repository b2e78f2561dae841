import { createRequire } from "node:module";
import { connect } from "node:net";
import type Docker from "dockerode";

/**
 * The Engine API calls a warm sandbox command makes (is the engine there, which sandboxes exist,
 * who an image runs as), made straight over the engine's socket. dockerode, with its dependencies
 * (docker-modem, ssh2 …), costs ~100 ms to load: it is loaded only when something else is needed
 * (creating a container, pulling, archives, `docker exec`), or when the endpoint is one only
 * dockerode speaks (TLS, ssh://).
 */
export interface EngineApi {
  /** The engine runs on this machine (a unix socket): its containers' cgroup files are readable here. */
  readonly local: boolean;
  ping(): Promise<void>;
  listContainers(options: { all?: boolean; filters: Record<string, string[]> }): Promise<Docker.ContainerInfo[]>;
  /** The user an image runs as (`Config.User`), undefined for root/none. */
  imageUser(image: string): Promise<string | undefined>;
}

/** dockerode, loaded on first use (it is a CommonJS package beside this one). */
export function loadDockerode(): typeof Docker {
  return createRequire(import.meta.url)("dockerode") as typeof Docker;
}

/**
 * The API for the endpoint dockerode would use (DOCKER_HOST, else the default socket): direct for
 * a unix socket or plain TCP, through `docker()` (dockerode) for anything else.
 */
export function engineApi(env: NodeJS.ProcessEnv, docker: () => Docker): EngineApi {
  const host = env.DOCKER_HOST || "unix:///var/run/docker.sock";
  const tls = env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== "" && env.DOCKER_TLS_VERIFY !== "0";
  if (host.startsWith("unix://")) return new DirectEngine({ socketPath: host.slice("unix://".length) });
  const tcp = /^(?:tcp|http):\/\/\[?([^\]/]+?)\]?(?::(\d+))?\/?$/.exec(host);
  if (tcp && !tls) return new DirectEngine({ host: tcp[1] as string, port: Number(tcp[2] ?? 2375) });
  return viaDockerode(docker);
}

/** An error shaped like dockerode's, so the backend's checks (`statusOf`, `isConnectionError`) read both alike. */
class EngineError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 30_000;

class DirectEngine implements EngineApi {
  readonly local: boolean;
  constructor(private readonly target: { socketPath: string } | { host: string; port: number }) {
    this.local = "socketPath" in target;
  }

  async ping(): Promise<void> {
    await this.call("/_ping", false);
  }

  async listContainers(options: { all?: boolean; filters: Record<string, string[]> }): Promise<Docker.ContainerInfo[]> {
    const query = `all=${options.all ? "true" : "false"}&filters=${encodeURIComponent(JSON.stringify(options.filters))}`;
    return (await this.call(`/containers/json?${query}`, true)) as Docker.ContainerInfo[];
  }

  async imageUser(image: string): Promise<string | undefined> {
    const info = (await this.call(`/images/${encodeURIComponent(image)}/json`, true)) as { Config?: { User?: string } };
    return info.Config?.User || undefined;
  }

  private async call(path: string, json: boolean): Promise<unknown> {
    const { status, body } = await httpGet(this.target, path, TIMEOUT_MS);
    if (status < 200 || status >= 300) {
      let message = body.trim();
      try {
        message = (JSON.parse(body) as { message?: string }).message ?? message;
      } catch {
        // not JSON: the text is the message
      }
      throw new EngineError(`(HTTP code ${status}) ${message}`, status);
    }
    return json ? JSON.parse(body) : body;
  }
}

/**
 * One `GET` over a fresh connection (`Connection: close`), read to its end. node:http costs ~6 ms
 * more on its first request of a process than this, which is all a warm CLI command makes.
 */
function httpGet(
  target: { socketPath: string } | { host: string; port: number },
  path: string,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = "socketPath" in target ? connect(target.socketPath) : connect(target.port, target.host);
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    socket.on("connect", () => socket.write(`GET ${path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n`));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** Status and body of an HTTP/1.1 response (a body sized by Content-Length, chunked, or up to the close). */
export function parseResponse(raw: Buffer): { status: number; body: string } {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) throw Object.assign(new Error("the engine closed the connection before answering"), { code: "ECONNRESET" });
  const [statusLine = "", ...headerLines] = raw.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN);
  if (!Number.isInteger(status)) throw new Error(`the engine answered something that is not HTTP (${statusLine.slice(0, 40)})`);
  const headers = new Map(
    headerLines.map((line) => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const;
    }),
  );
  let body = raw.subarray(end + 4);
  if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = body.indexOf("\r\n", at);
      if (lineEnd < 0) throw new Error("the engine's chunked answer ended early");
      const size = Number.parseInt(body.subarray(at, lineEnd).toString("latin1"), 16);
      if (!Number.isFinite(size)) throw new Error("the engine's chunked answer is malformed");
      if (size === 0) break;
      parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers.has("content-length")) {
    body = body.subarray(0, Number(headers.get("content-length")));
  }
  return { status, body: body.toString("utf8") };
}

function viaDockerode(docker: () => Docker): EngineApi {
  return {
    local: false,
    ping: async () => {
      await docker().ping();
    },
    listContainers: (options) => docker().listContainers(options),
    imageUser: async (image) => (await docker().getImage(image).inspect()).Config?.User || undefined,
  };
}
