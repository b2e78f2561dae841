import { request } from "node:http";
import { createRequire } from "node:module";
import type Docker from "dockerode";

/**
 * The Engine API calls a warm sandbox command makes (is the engine there, which sandboxes exist,
 * who an image runs as), made straight over the engine's socket. dockerode, with its dependencies
 * (docker-modem, ssh2 …), costs ~100 ms to load: it is loaded only when something else is needed
 * (creating a container, pulling, archives, `docker exec`), or when the endpoint is one only
 * dockerode speaks (TLS, ssh://).
 */
export interface EngineApi {
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
  constructor(private readonly target: { socketPath: string } | { host: string; port: number }) {}

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

  private call(path: string, json: boolean): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = request({ ...this.target, path, method: "GET", headers: { host: "docker" }, timeout: TIMEOUT_MS }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            let message = body.trim();
            try {
              message = (JSON.parse(body) as { message?: string }).message ?? message;
            } catch {
              // not JSON: the text is the message
            }
            return reject(new EngineError(`(HTTP code ${status}) ${message}`, status));
          }
          if (!json) return resolve(body);
          try {
            resolve(JSON.parse(body));
          } catch (error) {
            reject(error);
          }
        });
      });
      req.on("timeout", () => req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
      req.on("error", reject);
      req.end();
    });
  }
}

function viaDockerode(docker: () => Docker): EngineApi {
  return {
    ping: async () => {
      await docker().ping();
    },
    listContainers: (options) => docker().listContainers(options),
    imageUser: async (image) => (await docker().getImage(image).inspect()).Config?.User || undefined,
  };
}
