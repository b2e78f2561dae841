import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BackendRequest,
  createLogger,
  type ExecEvent,
  type ExecRequest,
  executeOn,
  type ResolveConfigOptions,
  resolveConfig,
  resolvePluginOptions,
} from "@stigmer/core";
import Docker from "dockerode";
import { afterAll, expect } from "vitest";
import { DockerBackend } from "../src/docker-backend.js";
import { plugin } from "../src/index.js";
import { LABELS, MANAGED_BY, OWNER } from "../src/labels.js";

export const docker = new Docker();
export const AGENT_IMAGE = "stigmer-test/sandbox-basic:ci";
export const EXEC_IMAGE = "stigmer-test/busybox:1";

export function project(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "stigmer-docker-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function backend(
  env: Record<string, string> = {},
  options: Record<string, unknown> = {},
  resolve: ResolveConfigOptions = {},
): DockerBackend {
  const config = resolveConfig({ ...resolve, env: { STIGMER_SANDBOX_IMAGE: AGENT_IMAGE, STIGMER_SANDBOX_TTL: "60", ...env } });
  // The plugin's own settings (STIGMER_SANDBOX_MEMORY, …) as core hands them to it when it loads.
  const settings = resolvePluginOptions(plugin, "docker", "@stigmer/backend-docker", config).options;
  return new DockerBackend(config, createLogger({ level: "silent" }), { ...settings, ...options });
}

export async function run(b: DockerBackend, request: ExecRequest) {
  const events: ExecEvent[] = [];
  const result = await executeOn(b, { mode: "sandbox", ...request }, { onEvent: (e) => void events.push(e) });
  return { result, events };
}

/** Containers this test process created (owner label), in any state. */
export async function ownContainers(): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${LABELS.managedBy}=${MANAGED_BY}`, `${LABELS.owner}=${OWNER}`] } });
}

export async function containersFor(workspace: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${LABELS.workspace}=${workspace}`] } });
}

// One polling helper for all tests.
export { waitFor } from "../../../test/helpers.js";

export type { BackendRequest };

/**
 * Project directories for one test file, removed after it, followed by the leak check: nothing
 * this process created is left. Call once at the top of a test file.
 */
export function projectsWithLeakCheck(): () => string {
  const projects: Array<{ cleanup(): void }> = [];
  afterAll(async () => {
    for (const p of projects) p.cleanup();
    expect(await ownContainers()).toEqual([]);
  });
  return () => {
    const p = project();
    projects.push(p);
    return p.dir;
  };
}
