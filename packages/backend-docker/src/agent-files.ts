import type { SandboxFiles } from "@stigmer/core";
import type { AgentChannel } from "./agent-channel.js";
import type { SandboxStats } from "./agent-runner.js";
import { Frame } from "./frames.js";

/** Bytes of the project sent in one frame. */
const FRAME_BYTES = 256 * 1024;

function agentError(payload: Buffer, what: string): Error {
  let message = payload.toString("utf8");
  try {
    message = JSON.parse(message).message ?? message;
  } catch {}
  return new Error(`${what} failed in the sandbox: ${message}`);
}

/**
 * The sandbox's copy of the project through its agent: pushes are extracted by `tar` in the
 * sandbox; pulls report only what inotify saw change, so a command that changed nothing costs no
 * walk of the tree on either side.
 */
export function agentFiles(
  channel: AgentChannel,
  options: { key: string; fresh: boolean; stateDir: string; user: string | undefined },
): SandboxFiles {
  return {
    key: options.key,
    fresh: options.fresh,
    stateDir: options.stateDir,
    async push(archive, deletions, { reset, paths }) {
      const conn = await channel.openStream();
      try {
        await conn.sendJson(Frame.PUSH, { deletions, paths, reset, user: options.user });
        // The tar comes in small pieces (a header, a file, its padding): send them in big frames.
        let batch: Uint8Array[] = [];
        let batched = 0;
        for await (const chunk of archive) {
          batch.push(chunk);
          batched += chunk.length;
          if (batched >= FRAME_BYTES) {
            await conn.send(Frame.DATA, Buffer.concat(batch));
            batch = [];
            batched = 0;
          }
        }
        if (batched > 0) await conn.send(Frame.DATA, Buffer.concat(batch));
        await conn.send(Frame.DATA_END);
        const reply = await conn.next();
        if (reply?.type === Frame.ERROR) throw agentError(reply.payload, "Copying the project");
        if (reply?.type !== Frame.DONE) throw new Error("the sandbox agent stopped while the project was being copied");
      } finally {
        conn.close();
      }
    },
    async pull() {
      const conn = await channel.openStream();
      await conn.sendJson(Frame.PULL, {});
      const first = await conn.next();
      if (first?.type !== Frame.DELETIONS) {
        conn.close();
        throw first?.type === Frame.ERROR ? agentError(first.payload, "Collecting the changes") : new Error("the sandbox agent stopped");
      }
      const deletions = (JSON.parse(first.payload.toString("utf8")) as { paths: string[] }).paths;
      const archive = (async function* () {
        try {
          for (let frame = await conn.next(); ; frame = await conn.next()) {
            if (frame?.type === Frame.DATA) yield frame.payload;
            else if (frame?.type === Frame.DATA_END) return;
            else if (frame?.type === Frame.ERROR) throw agentError(frame.payload, "Collecting the changes");
            else throw new Error("the sandbox agent stopped while sending the changes");
          }
        } finally {
          conn.close();
        }
      })();
      return { archive, deletions };
    },
  };
}

/** Asks the agent how full the sandbox is. */
export async function agentStats(channel: AgentChannel): Promise<SandboxStats> {
  const conn = await channel.openStream();
  try {
    await conn.sendJson(Frame.STATS, {});
    const reply = await conn.next();
    return reply?.type === Frame.DONE ? ((JSON.parse(reply.payload.toString("utf8")) as { stats: SandboxStats }).stats ?? {}) : {};
  } finally {
    conn.close();
  }
}
