import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyChanges } from "../src/workspace/apply.js";
import { HostTree } from "../src/workspace/host-tree.js";
import { packTar, readTar, type TarSourceItem } from "../src/workspace/tar.js";

let root: string;
let outside: string;
let tree: HostTree;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "stigmer-apply-"));
  outside = mkdtempSync(join(tmpdir(), "stigmer-outside-"));
  tree = new HostTree(root, { watch: false });
});
afterEach(() => {
  tree.close();
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const file = (path: string, text: string, mode = 0o644): TarSourceItem => ({
  entry: { path, type: "file", mode, size: Buffer.byteLength(text), mtimeMs: 1_700_000_000_000 },
  content: Buffer.from(text),
});
const link = (path: string, target: string): TarSourceItem => ({
  entry: { path, type: "symlink", mode: 0o777, size: 0, mtimeMs: 0, linkTarget: target },
});

/** Syncs the manifest with the host as it is now (as a push would). */
function baseline(): void {
  const changes = tree.scan();
  tree.commit(changes);
}

async function apply(items: TarSourceItem[], deletions: string[] = []) {
  return applyChanges(packTar(items), deletions, { root, tree });
}

describe("applyChanges: what a sandbox sends back", () => {
  it("writes files owned by this user, with the umask's permission bits and never setuid, setgid or sticky", async () => {
    const report = await apply([file("rootsh", "#!/bin/sh\nid\n", 0o6755), file("shared", "x", 0o1777), file("dir/nested.txt", "n")]);
    expect(report.refused).toEqual([]);
    const rootsh = lstatSync(join(root, "rootsh"));
    expect(rootsh.mode & 0o7000).toBe(0);
    expect(rootsh.mode & 0o777).toBe(0o755 & ~process.umask());
    expect(rootsh.uid).toBe(process.getuid?.());
    expect(lstatSync(join(root, "shared")).mode & 0o7777).toBe(0o777 & ~process.umask());
    expect(readFileSync(join(root, "dir/nested.txt"), "utf8")).toBe("n");
    expect(lstatSync(join(root, "rootsh")).mtimeMs).toBe(1_700_000_000_000);
  });

  it("refuses paths that leave the project, links that point out of it, and writes through links", async () => {
    symlinkSync(outside, join(root, "escape"));
    baseline();
    const report = await apply([
      file("../evil", "x"),
      file("/etc/evil", "x"),
      file("a/../../evil", "x"),
      link("home", "/home"),
      link("up", "../../etc"),
      link("deep/ok", "../sibling"),
      file("escape/planted", "x"),
    ]);
    expect(report.refused.map((r) => r.path).sort()).toEqual(
      ["../evil", "/etc/evil", "a/../../evil", "escape/planted", "home", "up"].sort(),
    );
    expect(existsSync(join(outside, "planted"))).toBe(false);
    expect(readlinkSync(join(root, "deep/ok"))).toBe("../sibling");
    expect(existsSync(join(root, "home"))).toBe(false);
  });

  it("refuses devices, FIFOs and hard links", async () => {
    const items: TarSourceItem[] = [
      { entry: { path: "fifo", type: "other", typeFlag: "6", mode: 0o644, size: 0, mtimeMs: 0 } },
      { entry: { path: "null", type: "other", typeFlag: "3", mode: 0o666, size: 0, mtimeMs: 0 } },
      { entry: { path: "hard", type: "hardlink", mode: 0o644, size: 0, mtimeMs: 0, linkTarget: "/etc/shadow" } },
    ];
    const report = await apply(items);
    expect(report.refused.map((r) => r.path).sort()).toEqual(["fifo", "hard", "null"]);
    expect(existsSync(join(root, "fifo")) || existsSync(join(root, "null")) || existsSync(join(root, "hard"))).toBe(false);
  });

  it("keeps git configuration, hooks and redirections, and Stigmer's config, out of the project", async () => {
    mkdirSync(join(root, ".git/hooks"), { recursive: true });
    writeFileSync(join(root, ".git/config"), "[core]\n");
    writeFileSync(join(root, ".git/HEAD"), "ref: refs/heads/main\n");
    baseline();
    const report = await apply([
      file(".git/config", "[core]\n\tfsmonitor = sh evil.sh\n"),
      file(".git/hooks/pre-commit", "#!/bin/sh\nevil\n", 0o755),
      file(".git/modules/sub/config", "[core]\n\tpager = evil\n"),
      file(".git/objects/info/alternates", "/home/user/other/.git/objects\n"),
      file(".git/worktrees/w/gitdir", "/elsewhere\n"),
      file("sub/.git", "gitdir: /tmp/evil-gitdir\n"),
      link("vendored/.git", "../evil-gitdir"),
      file("stigmer.config.json", '{"sandbox":{"backend":"./evil.mjs"}}'),
      file("nested/stigmer.config.json", "{}"),
      file(".git/refs/heads/config", "0123456789012345678901234567890123456789\n"),
      file(".git/objects/ab/cdef", "blob"),
      file(".git/index", "index"),
    ]);
    expect(report.refused.map((r) => r.path).sort()).toEqual(
      [
        ".git/config",
        ".git/hooks/pre-commit",
        ".git/modules/sub/config",
        ".git/objects/info/alternates",
        ".git/worktrees/w/gitdir",
        "nested/stigmer.config.json",
        "stigmer.config.json",
        "sub/.git",
        "vendored/.git",
      ].sort(),
    );
    expect(readFileSync(join(root, ".git/config"), "utf8")).toBe("[core]\n");
    expect(existsSync(join(root, ".git/hooks/pre-commit"))).toBe(false);
    expect(readFileSync(join(root, ".git/refs/heads/config"), "utf8")).toMatch(/^0123/);
    expect(readFileSync(join(root, ".git/objects/ab/cdef"), "utf8")).toBe("blob");
  });

  it("keeps the host's version when the host changed a path since the sandbox's copy was made", async () => {
    writeFileSync(join(root, "edited"), "v1");
    writeFileSync(join(root, "gone-on-host"), "v1");
    writeFileSync(join(root, "untouched"), "v1");
    baseline();
    writeFileSync(join(root, "edited"), "v2 from the host, longer");
    writeFileSync(join(root, "new-on-host"), "host");
    const report = await apply([
      file("edited", "v2 from the sandbox"),
      file("new-on-host", "sandbox"),
      file("untouched", "v2 from the sandbox"),
    ]);
    expect(report.conflicts.map((c) => c.path).sort()).toEqual(["edited", "new-on-host"]);
    expect(readFileSync(join(root, "edited"), "utf8")).toBe("v2 from the host, longer");
    expect(readFileSync(join(root, "new-on-host"), "utf8")).toBe("host");
    expect(readFileSync(join(root, "untouched"), "utf8")).toBe("v2 from the sandbox");
  });

  it("deletes what the sandbox deleted, but not what the host changed meanwhile, nor the git directory", async () => {
    mkdirSync(join(root, "build/sub"), { recursive: true });
    writeFileSync(join(root, "build/a"), "a");
    writeFileSync(join(root, "build/sub/b"), "b");
    writeFileSync(join(root, "doc"), "d");
    mkdirSync(join(root, ".git/objects"), { recursive: true });
    writeFileSync(join(root, ".git/HEAD"), "ref: refs/heads/main\n");
    baseline();
    writeFileSync(join(root, "build/sub/new-on-host"), "keep me");
    const report = await apply([], ["build", "doc", ".git", ".git/HEAD", "../outside"]);
    expect(existsSync(join(root, "doc"))).toBe(false);
    expect(existsSync(join(root, "build/a"))).toBe(false);
    expect(readFileSync(join(root, "build/sub/new-on-host"), "utf8")).toBe("keep me");
    expect(existsSync(join(root, ".git/HEAD"))).toBe(true);
    expect(report.refused.map((r) => r.path).sort()).toEqual(["../outside", ".git", ".git/HEAD"].sort());
  });

  it("never reads or replaces a FIFO that sits on the host", async () => {
    execFileSync("mkfifo", [join(root, "pipe")]);
    const report = await apply([file("pipe", "data")]);
    expect(report.conflicts.map((c) => c.path)).toEqual(["pipe"]);
    expect(lstatSync(join(root, "pipe")).isFIFO()).toBe(true);
  });

  it("stops at the byte limit and says so", async () => {
    const report = await applyChanges(packTar([file("a", "x".repeat(600)), file("b", "y".repeat(600))]), [], {
      root,
      tree,
      maxBytes: 1000,
    });
    expect(report.truncated).toBe(true);
    expect(existsSync(join(root, "a"))).toBe(true);
    expect(existsSync(join(root, "b"))).toBe(false);
  });

  it("leaves a file alone when the sandbox sends back the host's own bytes", async () => {
    writeFileSync(join(root, "same"), "same bytes");
    chmodSync(join(root, "same"), 0o644 & ~process.umask());
    baseline();
    const before = lstatSync(join(root, "same"));
    // An echo carries the host file's own modification time (pushes preserve it).
    const echo = file("same", "same bytes", 0o644);
    echo.entry.mtimeMs = before.mtimeMs;
    const report = await apply([echo]);
    expect(report.applied).toBe(0);
    expect(lstatSync(join(root, "same")).ino).toBe(before.ino);
  });
});

describe("tar codec", () => {
  it("round-trips long and non-ASCII names, links, modes and empty files", async () => {
    const long = `${"deep/".repeat(40)}file-ñ.txt`;
    const items: TarSourceItem[] = [
      { entry: { path: "dir", type: "directory", mode: 0o755, size: 0, mtimeMs: 1_000_000 } },
      file(long, "hello"),
      file("empty", ""),
      link("l", `${"../".repeat(2)}${"x".repeat(120)}`),
    ];
    const out: Array<[string, string, number, string]> = [];
    for await (const { entry, content } of readTar(packTar(items))) {
      const chunks: Buffer[] = [];
      for await (const chunk of content) chunks.push(Buffer.from(chunk));
      out.push([entry.path, entry.type, entry.mode, entry.linkTarget ?? Buffer.concat(chunks).toString()]);
    }
    expect(out).toEqual([
      ["dir", "directory", 0o755, ""],
      [long, "file", 0o644, "hello"],
      ["empty", "file", 0o644, ""],
      ["l", "symlink", 0o777, `../../${"x".repeat(120)}`],
    ]);
  });

  it("reads what GNU tar writes (long names, ./ prefixes) and rejects what is not tar", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stigmer-tar-"));
    try {
      const name = `${"n".repeat(150)}.txt`;
      writeFileSync(join(dir, name), "gnu");
      const archive = execFileSync("tar", ["-c", "-f", "-", "-C", dir, "."]);
      const seen: string[] = [];
      for await (const { entry, content } of readTar([archive])) {
        seen.push(entry.path);
        if (entry.path === name) {
          const chunks: Buffer[] = [];
          for await (const chunk of content) chunks.push(Buffer.from(chunk));
          expect(Buffer.concat(chunks).toString()).toBe("gnu");
        }
      }
      expect(seen).toContain(name);
      await expect(async () => {
        for await (const _ of readTar([Buffer.alloc(1024, 65)])) {
        }
      }).rejects.toThrow(/not a tar archive/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
