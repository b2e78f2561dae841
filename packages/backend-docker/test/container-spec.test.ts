// The sandbox container as Docker's create body: a pure function of its inputs, checked here
// without an engine (images-and-hardening.test.ts checks the same boundary on a real engine).
import { CA_VARIABLES, PROCESS_OWNER, resolveConfig, resolvePluginOptions, SANDBOX_LABELS } from "@stigmer/core";
import type Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { type ContainerSpecInput, containerLabels, containerSpec } from "../src/container-spec.js";
import { resolveDockerOptions } from "../src/docker-options.js";
import { plugin } from "../src/index.js";
import { AGENT_PATH, CA_BUNDLE, CHANNEL_PATH, TRUST_PATH } from "../src/keeper.js";
import { LABELS, MANAGED_BY } from "../src/labels.js";

type Mount = { Type: string; Source: string; Target: string; ReadOnly: boolean; BindOptions: { NonRecursive: boolean } };

function input(over: { env?: Record<string, string>; options?: Record<string, unknown> } = {}, fields: Partial<ContainerSpecInput> = {}) {
  const config = resolveConfig({ env: { STIGMER_SANDBOX_TTL: "120", ...over.env } });
  return {
    name: "stigmer-abc-123",
    image: "example/image:1",
    strategy: "sync",
    root: "/home/u/project",
    readOnlyInProject: [],
    channelDir: "/state/e/s/channel",
    agentDir: "/opt/agent-src",
    trustDir: undefined,
    env: { HTTPS_PROXY: "http://host.docker.internal:3128" },
    hostGateway: false,
    labels: { a: "b" },
    sandbox: config.sandbox,
    // The plugin's own settings (STIGMER_SANDBOX_MEMORY, …) as core hands them to it, then the options given.
    options: resolveDockerOptions({
      ...resolvePluginOptions(plugin, "docker", "@stigmer/backend-docker", config).options,
      ...over.options,
    }),
    ...fields,
  } satisfies ContainerSpecInput;
}

const mountsOf = (spec: Docker.ContainerCreateOptions) => spec.HostConfig?.Mounts as unknown as Mount[];

describe("containerSpec", () => {
  it("is hardened by default: every capability dropped but package managers', no-new-privileges, limits, root keeper, auto-removal", () => {
    const spec = containerSpec(input());
    const host = spec.HostConfig as Docker.HostConfig;
    expect(host.CapDrop).toEqual(["ALL"]);
    expect(host.CapAdd).toEqual(["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID", "SETGID", "KILL", "NET_BIND_SERVICE"]);
    expect(host.Privileged).toBe(false);
    expect(host.SecurityOpt).toEqual(["no-new-privileges:true"]);
    expect(host.Memory).toBe(2 * 1024 ** 3);
    expect(host.MemorySwap).toBe(2 * 1024 ** 3); // no swap beyond the limit
    expect(host.NanoCpus).toBe(2e9);
    expect(host.PidsLimit).toBe(1024);
    expect(host.CpuShares).toBe(256);
    expect(host.AutoRemove).toBe(true);
    expect(host.NetworkMode).toBe("bridge");
    expect(host.ExtraHosts).toBeUndefined();
    expect(host.ReadonlyRootfs).toBe(false);
    expect(host.Tmpfs).toBeUndefined();
    expect(spec.User).toBe("0:0");
    expect(spec.WorkingDir).toBe("/workspace");
    expect(spec.Image).toBe("example/image:1");
    expect(spec.name).toBe("stigmer-abc-123");
    expect(spec.Labels).toEqual({ a: "b" });
    expect(spec.Env).toEqual(["HTTPS_PROXY=http://host.docker.internal:3128"]);
    // The keeper gets TTL, kill grace (s), agent wanted, cleanup, strategy and workspace path.
    expect(spec.Cmd).toEqual(["120", "1", "1", "1", "sync", "/workspace"]);
    expect(spec.Entrypoint?.slice(0, 2)).toEqual(["/bin/sh", "-c"]);
  });

  it("with sync mounts no host directory writable: only the channel and the agent's code, read-only and non-recursive", () => {
    const mounts = mountsOf(containerSpec(input()));
    expect(mounts.map((m) => [m.Source, m.Target, m.ReadOnly])).toEqual([
      ["/state/e/s/channel", CHANNEL_PATH, true],
      ["/opt/agent-src", AGENT_PATH, true],
    ]);
    for (const m of mounts) expect(m.BindOptions.NonRecursive).toBe(true);
  });

  it("with mount binds the project read-write, but .git and Stigmer's config read-only over it", () => {
    const mounts = mountsOf(containerSpec(input({}, { strategy: "mount", readOnlyInProject: [".git", "stigmer.config.json"] })));
    expect(mounts.filter((m) => !m.ReadOnly).map((m) => [m.Source, m.Target])).toEqual([["/home/u/project", "/workspace"]]);
    expect(mounts.filter((m) => m.Target.startsWith("/workspace/")).map((m) => [m.Source, m.Target, m.ReadOnly])).toEqual([
      ["/home/u/project/.git", "/workspace/.git", true],
      ["/home/u/project/stigmer.config.json", "/workspace/stigmer.config.json", true],
    ]);
  });

  it("gives the host's CA bundle read-only, and points the usual CA variables at it", () => {
    const spec = containerSpec(input({}, { trustDir: "/state/e/s/trust" }));
    expect(mountsOf(spec).find((m) => m.Target === TRUST_PATH)).toMatchObject({ Source: "/state/e/s/trust", ReadOnly: true });
    expect(CA_VARIABLES).toContain("SSL_CERT_FILE");
    for (const name of CA_VARIABLES) {
      expect(spec.Env).toContain(`${name}=${CA_BUNDLE}`);
    }
  });

  it("follows the settings: limits off, another network, host gateway, read-only root with tmpfs, no agent", () => {
    const spec = containerSpec(
      input(
        {
          env: { STIGMER_SANDBOX_MEMORY: "0", STIGMER_SANDBOX_CPUS: "0", STIGMER_SANDBOX_PIDS_LIMIT: "0", STIGMER_SANDBOX_NETWORK: "none" },
          options: { readOnlyRootfs: true, agent: false, killGraceMs: 2500, workspacePath: "/w" },
        },
        { hostGateway: true },
      ),
    );
    const host = spec.HostConfig as Docker.HostConfig;
    expect(host.Memory).toBeUndefined();
    expect(host.NanoCpus).toBeUndefined();
    expect(host.PidsLimit).toBeUndefined();
    expect(host.NetworkMode).toBe("none");
    expect(host.ExtraHosts).toEqual(["host.docker.internal:host-gateway"]);
    expect(host.ReadonlyRootfs).toBe(true);
    expect(host.Tmpfs).toEqual({ "/tmp": "rw,exec,nosuid,size=1g", "/w": "rw,exec,nosuid,size=4g" });
    expect(spec.Cmd).toEqual(["120", "2.5", "0", "1", "sync", "/w"]);
  });

  it("keeps what was asked for when hardening is turned down: privileged drops nothing, no-new-privileges off", () => {
    const host = containerSpec(input({ options: { privileged: true, noNewPrivileges: false } })).HostConfig as Docker.HostConfig;
    expect(host.Privileged).toBe(true);
    expect(host.CapDrop).toEqual([]);
    expect(host.CapAdd).toEqual([]);
    expect(host.SecurityOpt).toEqual([]);
  });

  it("a configured user keeps the keeper root but adds what it needs to switch to that user", () => {
    const host = containerSpec(input({ options: { user: "1000:1000", capAdd: ["CHOWN"] } })).HostConfig as Docker.HostConfig;
    expect(host.CapAdd).toEqual(["CHOWN", "SETUID", "SETGID"]);
  });
});

describe("containerLabels", () => {
  it("records core's sandbox labels (this process as owner) and Docker's own", () => {
    const labels = containerLabels({
      key: "0123456789abcdef",
      image: "example/image:1",
      root: "/home/u/project",
      strategy: "mount",
      ttlSeconds: 300,
      cleanup: false,
      stateDir: "/state/e/0123abcd-a1b2c3",
      engine: "e1e2e3e4",
      created: "2025-01-01T00:00:00.000Z",
    });
    expect(labels).toEqual({
      [SANDBOX_LABELS.managedBy]: MANAGED_BY,
      [LABELS.owner]: PROCESS_OWNER,
      [LABELS.key]: "0123456789abcdef",
      [LABELS.workspace]: "/home/u/project",
      [LABELS.ttl]: "300",
      [LABELS.cleanup]: "false",
      [LABELS.image]: "example/image:1",
      [LABELS.strategy]: "mount",
      [LABELS.stateDir]: "/state/e/0123abcd-a1b2c3",
      [LABELS.engine]: "e1e2e3e4",
      [LABELS.created]: "2025-01-01T00:00:00.000Z",
    });
    expect(LABELS.managedBy).toBe("dev.stigmer.managed-by");
    expect(LABELS.stateDir).toBe("dev.stigmer.state-dir");
  });
});
