import type { Duplex } from "node:stream";
import { type RemoteRun, remoteSandboxFiles, type SandboxFiles } from "@stigmer/core";
import type Docker from "dockerode";
import { readFrames } from "./frames.js";

/**
 * `docker exec` as core's remote-sandbox primitive: a script with its stdin fed and its stdout
 * streamed back byte for byte (Docker's multiplexed stream), for images without python3.
 */
export function execFiles(
  container: Docker.Container,
  options: { key: string; fresh: boolean; stateDir: string; workspacePath: string; user: string | undefined },
): SandboxFiles {
  return remoteSandboxFiles(
    {
      async run(script, args, stdin): Promise<RemoteRun> {
        const exec = await container.exec({
          Cmd: ["sh", "-c", script, "stigmer-sync", ...args],
          AttachStdin: stdin !== undefined,
          AttachStdout: true,
          AttachStderr: true,
          Tty: false,
          ...(options.user ? { User: options.user } : {}),
        });
        const stream = (await exec.start({ hijack: true, stdin: stdin !== undefined })) as Duplex;
        stream.on("error", () => {});
        if (stdin) {
          void (async () => {
            for await (const chunk of stdin) {
              if (!stream.write(chunk)) await new Promise((resolve) => stream.once("drain", resolve));
            }
            stream.end();
          })().catch(() => stream.end());
        }
        const stderr: Buffer[] = [];
        let finish!: () => void;
        const ended = new Promise<void>((resolve) => {
          finish = resolve;
        });
        const stdout = (async function* () {
          try {
            for await (const { type, payload } of readFrames(stream, 8)) {
              if (type === 1) yield payload;
              else if (type === 2 && stderr.length < 64) stderr.push(payload);
            }
          } finally {
            finish();
          }
        })();
        const done = ended.then(async () => {
          const info = await exec.inspect();
          return { exitCode: info.ExitCode ?? 1, stderr: Buffer.concat(stderr).toString("utf8") };
        });
        return { stdout, done };
      },
    },
    options,
  );
}
