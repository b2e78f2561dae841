import { CancelledError, ImageNotFoundError, type OutputSink, StigmerError } from "@stigmer/core";
import type Docker from "dockerode";
import { engineUnavailable, isConnectionError, statusOf } from "./docker-errors.js";

interface PullEvent {
  id?: string;
  status?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Makes sure `image` is present: inspects it, and when missing pulls it (if allowed), reporting
 * per-layer progress. Throws `IMAGE_NOT_FOUND` with the fix when it is missing and cannot be
 * pulled, `BACKEND_UNAVAILABLE` when the engine does not answer, `CANCELLED` when aborted.
 */
export async function ensureImage(
  docker: Docker,
  image: string,
  options: { autoPull: boolean; progress: OutputSink["progress"]; signal: AbortSignal },
): Promise<void> {
  try {
    await docker.getImage(image).inspect();
    return;
  } catch (error) {
    if (statusOf(error) !== 404) throw isConnectionError(error) ? engineUnavailable(docker, error) : error;
  }
  if (!options.autoPull) {
    throw new ImageNotFoundError(
      `Sandbox image ${image} is not on this machine and STIGMER_SANDBOX_AUTO_PULL=false: pull it (docker pull ${image}), build it (stigmer sandbox build -t ${image}), or enable auto-pull.`,
      { details: { image, autoPull: false } },
    );
  }
  options.progress({ phase: "pull", message: `pulling ${image}` });
  try {
    await pull(docker, image, options);
  } catch (error) {
    if (StigmerError.isInstance(error)) throw error;
    if (isConnectionError(error)) throw engineUnavailable(docker, error);
    const reason = (error as Error)?.message ?? String(error);
    throw new ImageNotFoundError(
      `Sandbox image ${image} is not on this machine and pulling it failed (${reason.trim()}): check the name and your registry access, build it (stigmer sandbox build -t ${image}), or set STIGMER_SANDBOX_IMAGE to an image you have.`,
      { cause: error, details: { image, autoPull: true } },
    );
  }
  options.progress({ phase: "pull", message: `pulled ${image}` });
}

async function pull(docker: Docker, image: string, options: { progress: OutputSink["progress"]; signal: AbortSignal }): Promise<void> {
  const stream = (await docker.pull(image)) as NodeJS.ReadableStream & { destroy(): void };
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      stream.destroy();
      reject(new CancelledError(`The pull of ${image} was cancelled before the command started.`));
    };
    if (options.signal.aborted) return onAbort();
    options.signal.addEventListener("abort", onAbort, { once: true });
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: PullEvent[]) => {
        options.signal.removeEventListener("abort", onAbort);
        const failed = events?.find((e) => e.error);
        if (error || failed) reject(error ?? new Error(failed?.errorDetail?.message ?? failed?.error));
        else resolve();
      },
      (event: PullEvent) => {
        if (!event.status) return;
        options.progress({
          phase: "pull",
          message: event.status,
          ...(event.id ? { item: event.id } : {}),
          ...(event.progressDetail?.current !== undefined ? { current: event.progressDetail.current } : {}),
          ...(event.progressDetail?.total !== undefined ? { total: event.progressDetail.total } : {}),
        });
      },
    );
  });
}
