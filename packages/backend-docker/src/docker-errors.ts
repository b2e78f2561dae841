import { BackendUnavailableError, StigmerError } from "@stigmer/core";
import type Docker from "dockerode";

/**
 * How the engine is reached, in the words a user would use (DOCKER_HOST form): from dockerode's
 * modem when it is loaded, else from the environment it would read.
 */
export function describeEndpoint(docker?: Docker): string {
  if (!docker) {
    const host = process.env.DOCKER_HOST;
    return host ? host : "unix:///var/run/docker.sock (the default; DOCKER_HOST is unset)";
  }
  const modem = docker.modem as unknown as { socketPath?: unknown; host?: string; port?: number | string; protocol?: string };
  // Without DOCKER_HOST, docker-modem 5 keeps a function that finds the default socket.
  if (typeof modem.socketPath === "function") return "unix:///var/run/docker.sock (the default; DOCKER_HOST is unset)";
  if (typeof modem.socketPath === "string" && modem.socketPath) return `unix://${modem.socketPath}`;
  return `${modem.protocol === "ssh" ? "ssh" : "tcp"}://${modem.host ?? "localhost"}${modem.port ? `:${modem.port}` : ""}`;
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ENOENT",
  "EACCES",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** True when the error means the engine did not answer at all (as opposed to answering "no"). */
export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: string; statusCode?: number; message?: string };
  if (e?.code && CONNECTION_CODES.has(e.code)) return true;
  return /socket hang up|connect E|timed out|Timeout/i.test(e?.message ?? "") && e?.statusCode === undefined;
}

/** The error the backend raises when the engine cannot be reached. */
export function engineUnavailable(docker: Docker | undefined, cause: unknown): StigmerError {
  const endpoint = describeEndpoint(docker);
  const code = (cause as { code?: string })?.code;
  const why = code ? `${code}` : ((cause as Error)?.message ?? String(cause));
  const hint =
    code === "EACCES"
      ? "add your user to the docker group, or set DOCKER_HOST to an engine you may use"
      : "start the Docker engine (dockerd, or Docker Desktop), or set DOCKER_HOST to a running one";
  return new BackendUnavailableError(`Cannot reach the Docker engine at ${endpoint} (${why}): ${hint}.`, {
    cause,
    details: { endpoint, code },
  });
}

/** HTTP status of a dockerode error, when the engine answered. */
export function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number })?.statusCode;
}
