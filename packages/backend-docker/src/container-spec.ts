import { CA_VARIABLES, type StigmerConfig, sandboxLabels, type WorkspaceStrategy } from "@stigmer/core";
import type Docker from "dockerode";
import type { ResolvedDockerOptions } from "./docker-options.js";
import { AGENT_PATH, CA_BUNDLE, CHANNEL_PATH, KEEPER_SCRIPT, TRUST_PATH } from "./keeper.js";
import { LABELS } from "./labels.js";

/** What a sandbox container's labels record: how `stigmer sandbox ls|prune`, adoption and the reaper find and judge it. */
export interface ContainerLabelsInput {
  key: string;
  image: string;
  /** Host project directory. */
  root: string;
  strategy: WorkspaceStrategy;
  ttlSeconds: number;
  cleanup: boolean;
  /** Host state directory of the sandbox (record, channel). */
  stateDir: string;
  /** Id of the engine endpoint. */
  engine: string;
  /** ISO time of creation. */
  created: string;
}

/** The labels of a container this process creates: core's sandbox labels (owner: this process) and Docker's own. */
export function containerLabels(input: ContainerLabelsInput): Record<string, string> {
  return {
    ...sandboxLabels({ key: input.key, workspace: input.root, ttlSeconds: input.ttlSeconds, cleanup: input.cleanup }),
    [LABELS.image]: input.image,
    [LABELS.strategy]: input.strategy,
    [LABELS.stateDir]: input.stateDir,
    [LABELS.engine]: input.engine,
    [LABELS.created]: input.created,
  };
}

/** Everything that decides what a sandbox container looks like. */
export interface ContainerSpecInput {
  name: string;
  image: string;
  strategy: WorkspaceStrategy;
  /** Host project directory (real path). Mounted only with the `mount` strategy. */
  root: string;
  /** For `mount`: what in the project is mounted read-only over itself (`.git`, Stigmer's config), relative paths. */
  readOnlyInProject: readonly string[];
  /** Host directories: the channel (read-only in the sandbox), the agent's code, the CA bundle's directory (or none). */
  channelDir: string;
  agentDir: string;
  trustDir: string | undefined;
  /** Environment every process in the sandbox gets (proxy settings, CA variables). */
  env: Record<string, string>;
  /** host.docker.internal, for a proxy on the host's loopback. */
  hostGateway: boolean;
  labels: Record<string, string>;
  sandbox: StigmerConfig["sandbox"];
  options: ResolvedDockerOptions;
}

/**
 * The container a sandbox runs in, as Docker's create options: a pure function of its inputs,
 * testable without an engine. What matters for the boundary:
 * - no read-write host mount with `sync` (the default): the project is copied in by the agent and
 *   its changes come back through core's checks; the channel and the agent's code are read-only;
 * - with `mount`, the project is mounted read-write but `.git` and Stigmer's config read-only;
 * - every capability dropped but the few package managers need, `no-new-privileges`, memory, CPU
 *   and process limits, a lower CPU weight than the host's own processes, auto-removal on exit.
 */
export function containerSpec(input: ContainerSpecInput): Docker.ContainerCreateOptions {
  const { sandbox, options: o } = input;
  // Non-recursive binds: a mount inside one of these host directories is not carried into the sandbox.
  const bind = (Source: string, Target: string, ReadOnly: boolean) => ({
    Type: "bind",
    Source,
    Target,
    ReadOnly,
    BindOptions: { NonRecursive: true },
  });
  const mounts = [bind(input.channelDir, CHANNEL_PATH, true), bind(input.agentDir, AGENT_PATH, true)];
  if (input.trustDir) mounts.push(bind(input.trustDir, TRUST_PATH, true));
  if (input.strategy === "mount") {
    mounts.push(bind(input.root, o.workspacePath, false));
    for (const rel of input.readOnlyInProject) mounts.push(bind(`${input.root}/${rel}`, `${o.workspacePath}/${rel}`, true));
  }
  const env = { ...input.env };
  if (input.trustDir) {
    for (const name of CA_VARIABLES) {
      env[name] = CA_BUNDLE;
    }
  }
  const { network, ttlSeconds, cleanup } = sandbox;
  const { memoryBytes, cpus, pidsLimit } = input.options;
  return {
    name: input.name,
    Image: input.image,
    Entrypoint: ["/bin/sh", "-c", KEEPER_SCRIPT, "stigmer-keeper"],
    Cmd: [String(ttlSeconds), String(o.killGraceMs / 1000), o.agent ? "1" : "0", cleanup ? "1" : "0", input.strategy, o.workspacePath],
    // The keeper runs as root to switch to the command user; commands run as that user.
    User: "0:0",
    WorkingDir: o.workspacePath,
    Env: Object.entries(env).map(([name, value]) => `${name}=${value}`),
    Labels: input.labels,
    HostConfig: {
      AutoRemove: true,
      Mounts: mounts as unknown as Docker.MountConfig,
      NetworkMode: network,
      ...(input.hostGateway ? { ExtraHosts: ["host.docker.internal:host-gateway"] } : {}),
      ...(memoryBytes > 0 ? { Memory: memoryBytes, MemorySwap: memoryBytes } : {}),
      ...(cpus > 0 ? { NanoCpus: Math.round(cpus * 1e9) } : {}),
      // Under contention the host's own processes come first.
      CpuShares: 256,
      ...(pidsLimit > 0 ? { PidsLimit: pidsLimit } : {}),
      Privileged: o.privileged,
      CapDrop: o.privileged ? [] : ["ALL"],
      CapAdd: o.privileged ? [] : o.capAdd,
      SecurityOpt: o.noNewPrivileges ? ["no-new-privileges:true"] : [],
      ReadonlyRootfs: o.readOnlyRootfs,
      ...(o.readOnlyRootfs
        ? {
            Tmpfs: {
              "/tmp": "rw,exec,nosuid,size=1g",
              ...(input.strategy === "mount" ? {} : { [o.workspacePath]: "rw,exec,nosuid,size=4g" }),
            },
          }
        : {}),
    },
  };
}
