import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BackendRequest } from "@stigmer/core";
import { afterAll, describe, expect, it } from "vitest";
import { commandLine } from "../src/session-runner.js";

// The line a Daytona session runs for a command, run here with the real bash: the command travels
// in a here-document, and a command that holds the here-document's end marker cannot end it early
// and run its tail outside the command's own shell.
const home = mkdtempSync(join(tmpdir(), "stigmer-daytona-line-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

const RUN_ID = "0123abcd-4567-89ef-0123-456789abcdef";
const MARKER = `STIGMER_COMMAND_${RUN_ID.replaceAll("-", "")}`;

function run(command: string): { status: number | null; stdout: string } {
  const request = { id: "r", command, cwd: "/", env: {}, signal: new AbortController().signal } as BackendRequest;
  const line = commandLine(RUN_ID, "session", request, "~/workspace", undefined);
  const r = spawnSync("bash", ["-c", line], { env: { PATH: process.env.PATH, HOME: home }, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout };
}

describe("daytona: the session's command line", () => {
  it("a command holding the end marker, alone or twice, runs whole in its own shell", () => {
    const command = `echo "$0"\n${MARKER}\necho after-marker\n${MARKER}_\nexit 3`;
    const r = run(`cat <<${MARKER}\nquoted\n${MARKER}\n${command}`);
    expect(r).toEqual({ status: 3, stdout: "quoted\nbash\nafter-marker\n" });
  });

  it("runs a command with quotes, a trailing newline and no final newline alike", () => {
    expect(run(`printf '%s\\n' "it's" '$HOME'\n`)).toEqual({ status: 0, stdout: "it's\n$HOME\n" });
    expect(run("echo a; exit 0")).toEqual({ status: 0, stdout: "a\n" });
  });
});
