import { DEFAULT_SANDBOX_IMAGE, type HealthCheck, type StigmerConfig } from "@stigmer/core";
import { FULL_SANDBOX_IMAGE } from "./build-image.js";

const BUILDABLE_IMAGES = new Set([DEFAULT_SANDBOX_IMAGE, FULL_SANDBOX_IMAGE]);

/** The engine does not answer at `endpoint`: the one line `stigmer doctor` shows, and what to do. */
export function engineUnreachable(endpoint: string, code: string | undefined): { message: string; fix: string } {
  const where = ` (now ${endpoint})`;
  return {
    message: `Cannot reach the Docker engine at ${endpoint}${code ? ` (${code})` : ""}`,
    fix:
      code === "EACCES"
        ? `Give your user access to the Docker socket (sudo usermod -aG docker $USER, then log in again), or set DOCKER_HOST to an engine you may use${where}.`
        : `Start the Docker engine (sudo systemctl start docker, sudo dockerd &, or Docker Desktop), or set DOCKER_HOST to a running engine${where}.`,
  };
}

/** What an image inspection found: present, absent (404), or an error. */
export type ImageState = { present: true } | { present: false } | { present: undefined; error: string };

/**
 * The `sandbox-image` check: the configured image is present locally; when it is not, whether the
 * first command will pull it (auto-pull) or fail with IMAGE_NOT_FOUND, and how to get it.
 */
export function imageCheck(sandbox: StigmerConfig["sandbox"], state: ImageState): HealthCheck {
  const { image } = sandbox;
  if (state.present === true)
    return { name: "sandbox-image", ok: true, message: `Image ${image} is present locally`, details: { image, present: true } };
  const get = BUILDABLE_IMAGES.has(image)
    ? `build it: stigmer sandbox build${image.includes("-full:") ? " --full" : ""} (or docker pull ${image})`
    : `docker pull ${image}, or build it (docker build -t ${image} …; stigmer sandbox build -t ${image} builds Stigmer's basic image)`;
  if (state.present === undefined) {
    return {
      name: "sandbox-image",
      ok: true,
      status: "warn",
      message: `Could not inspect the image ${image}: ${state.error}`,
      fix: `Check it with docker image inspect ${image}; if it is missing, ${get}.`,
      details: { image },
    };
  }
  if (sandbox.autoPull) {
    return {
      name: "sandbox-image",
      ok: true,
      status: "warn",
      message: `Image ${image} is not present locally; with auto-pull on it will be pulled on first use (slow the first time)`,
      fix: `To have it ready now, ${get}.`,
      details: { image, present: false, autoPull: true },
    };
  }
  // Without auto-pull, every sandboxed command would fail with IMAGE_NOT_FOUND.
  return {
    name: "sandbox-image",
    ok: false,
    message: `Image ${image} is not present locally and STIGMER_SANDBOX_AUTO_PULL is off: sandboxed commands will fail with IMAGE_NOT_FOUND`,
    fix: `Make it available — ${get} — or set STIGMER_SANDBOX_AUTO_PULL=true.`,
    details: { image, present: false, autoPull: false },
  };
}
