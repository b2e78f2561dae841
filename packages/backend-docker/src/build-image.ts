import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BackendUnavailableError, DEFAULT_SANDBOX_IMAGE } from "@stigmer/core";
import type Docker from "dockerode";
import { engineUnavailable, isConnectionError } from "./docker-errors.js";
import { loadDockerode } from "./engine-api.js";

export const FULL_SANDBOX_IMAGE = "ghcr.io/stigmer/agent-sandbox-full:latest";
/** Dockerfile.sandbox's base image (its BASE_IMAGE build argument's default). */
export const BASIC_BASE_IMAGE = "debian:bookworm-slim";
/** The basic tier's size target, in MB (10^6 bytes): about 300 on the official slim base, at most 225 added to it. */
export const BASIC_SIZE_TARGET = { totalMB: 300, addedMB: 225 } as const;

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
  /** Build every layer again instead of reusing cached ones (the engine's `nocache`). */
  noCache?: boolean;
  /** Pull newer versions of the base images first (the engine's `pull`); fails when one cannot be pulled. */
  pull?: boolean;
  /** Each line Docker reports, as it comes. */
  onLine?: (line: string) => void;
  docker?: Docker;
}

/**
 * Builds a sandbox image from the Dockerfiles this package ships, streaming Docker's output.
 * Throws `BACKEND_UNAVAILABLE` when the engine does not answer or the build fails.
 */
export interface BuildResult {
  tag: string;
  /** The image's size in bytes. */
  size: number;
  /** The image it was built FROM (a build argument may name another) and its size, when the engine has it. */
  base: { image: string; size?: number };
}

export async function buildSandboxImage(options: BuildOptions = {}): Promise<BuildResult> {
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
        ...(options.noCache ? { nocache: true } : {}),
        ...(options.pull ? { pull: true } : {}),
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
  const baseImage = options.full ? (options.buildArgs?.BASE ?? DEFAULT_SANDBOX_IMAGE) : (options.buildArgs?.BASE_IMAGE ?? BASIC_BASE_IMAGE);
  const baseSize = await docker
    .getImage(baseImage)
    .inspect()
    .then((base) => base.Size as number)
    .catch(() => undefined);
  return { tag, size: info.Size, base: { image: baseImage, ...(baseSize === undefined ? {} : { size: baseSize }) } };
}
