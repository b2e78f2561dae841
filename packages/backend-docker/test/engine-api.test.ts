// The direct Engine API client a warm sandbox command uses instead of dockerode: against the real
// engine, and its HTTP/1.1 response reader on the answers an engine gives.
import Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { hostCgroupStats } from "../src/cgroup-stats.js";
import { isConnectionError, statusOf } from "../src/docker-errors.js";
import { engineApi, parseResponse } from "../src/engine-api.js";
import { AGENT_IMAGE, EXEC_IMAGE } from "./helpers.js";

const lazyDockerode = () => new Docker();

describe("engine API, direct over the engine's socket", () => {
  const api = engineApi({}, () => {
    throw new Error("dockerode must not be needed for a local socket");
  });

  it("pings, lists with label filters, and reads an image's user", async () => {
    await api.ping();
    const none = await api.listContainers({ all: true, filters: { label: ["dev.stigmer.test=no-such-value-0b3f"] } });
    expect(none).toEqual([]);
    // The same answer dockerode gives, container for container.
    const mine = await api.listContainers({ all: true, filters: { label: ["dev.stigmer.managed-by"] } });
    const theirs = await new Docker().listContainers({ all: true, filters: { label: ["dev.stigmer.managed-by"] } });
    expect(mine.map((c) => c.Id).sort()).toEqual(theirs.map((c) => c.Id).sort());
    const info = await new Docker().getImage(AGENT_IMAGE).inspect();
    expect(await api.imageUser(AGENT_IMAGE)).toBe(info.Config?.User || undefined);
  });

  it("an image the engine does not have is the engine's 404, as with dockerode", async () => {
    const error = await api.imageUser("stigmer-test/no-such-image:never").catch((e: unknown) => e);
    expect(statusOf(error)).toBe(404);
    expect(String((error as Error).message)).toMatch(/No such image/i);
  });

  it("a socket nobody listens on is a connection error", async () => {
    const gone = engineApi({ DOCKER_HOST: "unix:///tmp/stigmer-no-such-engine.sock" }, lazyDockerode);
    const error = await gone.ping().catch((e: unknown) => e);
    expect(isConnectionError(error)).toBe(true);
  });

  it("an endpoint only dockerode speaks (TLS) goes through dockerode", async () => {
    let loaded = 0;
    const tls = engineApi({ DOCKER_HOST: "tcp://127.0.0.1:1", DOCKER_TLS_VERIFY: "1" }, () => {
      loaded++;
      return new Docker({ socketPath: "/var/run/docker.sock" });
    });
    await tls.ping();
    expect(loaded).toBeGreaterThan(0);
  });
});

describe("HTTP/1.1 response reader", () => {
  const raw = (text: string) => Buffer.from(text, "latin1");

  it("reads a body sized by Content-Length", () => {
    expect(parseResponse(raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nOKextra"))).toEqual({
      status: 200,
      body: "OK",
    });
  });

  it("reads a chunked body, chunk sizes in hex (bytes, not characters) and extensions ignored", () => {
    const chunks = ['[{"a"', ':"ünïcode"}', "]"].map((text) => Buffer.from(text, "utf8"));
    const body = Buffer.concat([
      raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
      ...chunks.flatMap((c, i) => [raw(`${c.length.toString(16)}${i === 1 ? ";ext=1" : ""}\r\n`), c, raw("\r\n")]),
      raw("0\r\n\r\n"),
    ]);
    const parsed = parseResponse(body);
    expect(parsed.status).toBe(200);
    expect(JSON.parse(parsed.body)).toEqual([{ a: "ünïcode" }]);
  });

  it("keeps an error status and its message", () => {
    const parsed = parseResponse(raw('HTTP/1.1 404 Not Found\r\nContent-Length: 29\r\n\r\n{"message":"No such image x"}'));
    expect(parsed).toEqual({ status: 404, body: '{"message":"No such image x"}' });
  });

  it("refuses a connection closed before the headers, and what is not HTTP", () => {
    expect(() => parseResponse(raw("HTTP/1.1 200 OK\r\nContent-Le"))).toThrow(/closed the connection/);
    expect(() => parseResponse(raw("SSH-2.0-OpenSSH\r\n\r\n"))).toThrow(/not HTTP/);
    expect(() => parseResponse(raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"))).toThrow(/ended early|malformed/);
  });
});

describe("a container's cgroup figures, read on this machine", () => {
  it("match the limits the container was started with, and its processes", async () => {
    const docker = new Docker();
    const container = await docker.createContainer({
      Image: EXEC_IMAGE,
      Cmd: ["sh", "-c", "sleep 60 & sleep 60 & wait"],
      Labels: { "dev.stigmer.test": "cgroup-stats" },
      HostConfig: { PidsLimit: 77, Memory: 96 * 1024 * 1024, AutoRemove: true },
    });
    try {
      await container.start();
      const stats = await waitForStats(container.id);
      expect(stats.pidsMax).toBe(77);
      expect(stats.memoryMax).toBe(96 * 1024 * 1024);
      expect(stats.pids).toBeGreaterThanOrEqual(3); // sh and two sleeps
      expect(stats.memory).toBeGreaterThan(0);
    } finally {
      await container.remove({ force: true }).catch(() => {});
    }
  });

  it("say nothing for an id that is not a container here", () => {
    expect(hostCgroupStats("0".repeat(64))).toBeUndefined();
    expect(hostCgroupStats("../../etc")).toBeUndefined();
  });
});

async function waitForStats(id: string): Promise<NonNullable<ReturnType<typeof hostCgroupStats>>> {
  for (let i = 0; i < 100; i++) {
    const stats = hostCgroupStats(id);
    if (stats && (stats.pids ?? 0) >= 3) return stats;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const stats = hostCgroupStats(id);
  if (!stats) throw new Error("no cgroup files for the container on this machine");
  return stats;
}
