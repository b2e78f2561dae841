import { BackendUnavailableError, sleep } from "@stigmer/core";
import type Docker from "dockerode";
import type { AgentChannel } from "./agent-channel.js";

/** How long a new container has to start its agent (or say it runs without one). */
export const READY_TIMEOUT_MS = 20_000;

/**
 * Waits for a started container: `agent` once the agent has authenticated on `channel`; `exec`
 * when the keeper says the image has no python3. Rejects with BACKEND_UNAVAILABLE when the
 * container exits, or is not ready within {@link READY_TIMEOUT_MS} (`stateDir` is named then: a
 * channel on another machine than the engine never connects).
 */
export async function waitReady(container: Docker.Container, channel: AgentChannel, stateDir: string): Promise<"agent" | "exec"> {
  let agentReady = false;
  void channel.ready.then(() => {
    agentReady = true;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let nextCheck = Date.now() + 100;
  while (Date.now() < deadline) {
    if (agentReady) return "agent";
    if (Date.now() >= nextCheck) {
      nextCheck = Date.now() + 100;
      const logs = await container.logs({ stdout: true, stderr: false }).catch(() => Buffer.alloc(0));
      if (Buffer.from(logs as unknown as Buffer).includes("stigmer-keeper: exec")) return "exec";
      const state = await container.inspect().catch(() => undefined);
      if (!state?.State.Running) {
        throw new BackendUnavailableError(
          `The sandbox container exited right after starting (exit code ${state?.State.ExitCode ?? "unknown"}): the image needs /bin/sh; check it with docker run --rm -it IMAGE sh.`,
        );
      }
    }
    await sleep(3);
  }
  throw new BackendUnavailableError(
    `The sandbox container did not become ready within ${READY_TIMEOUT_MS / 1000} s: is ${stateDir} on the same machine as the Docker engine?`,
  );
}
