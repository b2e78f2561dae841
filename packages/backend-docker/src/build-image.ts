import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BackendUnavailableError, DEFAULT_SANDBOX_IMAGE } from "@stigmer/core";
import type Docker from "dockerode";
import { engineUnavailable, isConnectionError } from "./docker-errors.js";
import { loadDockerode } from "./engine-api.js";

export const FULL_SANDBOX_IMAGE = "ghcr.io/stigmer/agent-sandbox-full:latest";

/** images/ of this package (Dockerfile.sandbox, Dockerfile.sandbox.full), from src/, dist/ or dist/bundle/. */
export function imagesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "images", "Dockerfile.sandbox"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("images/Dockerfile.sandbox is missing from @stigmer/backend-docker");
    dir = parent;
  }
  return join(dir, "images");
}

export interface BuildOptions {
  /** Build the full tier (Dockerfile.sandbox.full) instead of the basic one. */
  full?: boolean;
  /** Tag of the result; defaults to the tier's published name. */
  tag?: string;
  /** Build arguments (BASE for the full tier, TERRAFORM_ZIP_URL, …). */
  buildArgs?: Record<string, string>;
  /** Each line Docker reports, as it comes. */
  onLine?: (line: string) => void;
  docker?: Docker;
}

/**
 * Builds a sandbox image from the Dockerfiles this package ships, streaming Docker's output.
 * Throws `BACKEND_UNAVAILABLE` when the engine does not answer or the build fails.
 */
export async function buildSandboxImage(options: BuildOptions = {}): Promise<{ tag: string; size: number }> {
  const docker = options.docker ?? new (loadDockerode())();
  const dockerfile = options.full ? "Dockerfile.sandbox.full" : "Dockerfile.sandbox";
  const tag = options.tag ?? (options.full ? FULL_SANDBOX_IMAGE : DEFAULT_SANDBOX_IMAGE);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(
      { context: imagesDir(), src: [dockerfile] },
      {
        t: tag,
        dockerfile,
        labels: { "dev.stigmer.image": options.full ? "full" : "basic" },
        buildargs: options.buildArgs ?? {},
        rm: true,
        forcerm: true,
      },
    );
  } catch (error) {
    throw isConnectionError(error) ? engineUnavailable(docker, error) : error;
  }
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: Array<{ error?: string }>) => {
        const failed = events?.find((e) => e.error);
        if (error || failed)
          reject(
            new BackendUnavailableError(`Building ${tag} from ${dockerfile} failed: ${(error?.message ?? failed?.error ?? "").trim()}`),
          );
        else resolve();
      },
      (event: { stream?: string; status?: string; error?: string }) => {
        const text = event.stream ?? event.status ?? event.error;
        if (text) for (const line of text.split("\n")) if (line.trim()) options.onLine?.(line);
      },
    );
  });
  const info = await docker.getImage(tag).inspect();
  return { tag, size: info.Size };
}
