import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HostTree } from "../src/workspace/host-tree.js";
import { checkWorkspaceRoot } from "../src/workspace/roots.js";

const scratch = mkdtempSync(join(tmpdir(), "stigmer-roots-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function refusal(cwd: string, policy: Parameters<typeof checkWorkspaceRoot>[1] = {}): string {
  try {
    checkWorkspaceRoot(cwd, policy);
  } catch (error) {
    expect((error as { code?: string }).code).toBe("INVALID_REQUEST");
    return (error as Error).message;
  }
  return "accepted";
}

describe("checkWorkspaceRoot", () => {
  it("refuses /, the home directory, system directories and links to them", () => {
    symlinkSync("/", join(scratch, "to-root"));
    expect(refusal("/")).toMatch(/system-wide directory/);
    expect(refusal(join(scratch, "to-root"))).toMatch(/Refusing to use \/ /);
    expect(refusal(homedir())).toMatch(/home directory/);
    for (const dir of ["/etc", "/usr/lib", "/var/lib", "/proc", "/sys", "/dev", "/boot", "/run", "/tmp", "/var"]) {
      expect(refusal(dir)).toMatch(/Refusing/);
    }
  });

  it("refuses a directory holding a protected path, one outside the allowed roots, and a hidden one of the home directory", () => {
    const project = join(scratch, "project");
    mkdirSync(join(project, "state"), { recursive: true });
    expect(refusal(project, { protectedPaths: [join(project, "state")] })).toMatch(/contains .*state/);
    expect(refusal(project, { allowedRoots: [join(scratch, "elsewhere")] })).toMatch(/outside the allowed workspace roots/);
    const fakeHome = join(scratch, "home");
    mkdirSync(join(fakeHome, ".config/app"), { recursive: true });
    expect(refusal(join(fakeHome, ".config/app"), { home: fakeHome })).toMatch(/inside ~\/.config/);
    expect(refusal(join(fakeHome, ".config/app"), { home: fakeHome, allowedRoots: [join(fakeHome, ".config/app")] })).toBe("accepted");
    expect(checkWorkspaceRoot(project)).toBe(project);
  });

  it("refuses a directory the caller cannot read and write (when not root)", () => {
    const locked = join(scratch, "locked");
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    const isRoot = process.getuid?.() === 0;
    expect(refusal(locked)).toMatch(isRoot ? /accepted/ : /cannot read and write/);
  });
});

describe("HostTree", () => {
  it("reports changes made between scans, with watchers and with full walks alike", async () => {
    for (const watch of [true, false]) {
      const root = mkdtempSync(join(scratch, "tree-"));
      mkdirSync(join(root, "a/b"), { recursive: true });
      writeFileSync(join(root, "a/b/f"), "1");
      writeFileSync(join(root, "keep"), "k");
      const tree = new HostTree(root, { watch });
      const first = tree.scan();
      expect(first.upserts.map(([p]) => p)).toEqual(["a", "a/b", "a/b/f", "keep"]);
      tree.commit(first);
      expect(tree.scan().upserts).toEqual([]);
      writeFileSync(join(root, "a/b/f"), "22");
      mkdirSync(join(root, "new/deeper"), { recursive: true });
      writeFileSync(join(root, "new/deeper/g"), "g");
      rmSync(join(root, "keep"));
      // No waiting: a change made just before the scan must be seen (settle lets the watchers report).
      await tree.settle();
      const second = tree.scan();
      expect(second.upserts.map(([p]) => p)).toEqual(["a/b/f", "new", "new/deeper", "new/deeper/g"]);
      expect(second.deletions).toEqual(["keep"]);
      tree.commit(second);
      rmSync(join(root, "new"), { recursive: true });
      await tree.settle();
      expect(tree.scan().deletions).toEqual(["new"]);
      tree.close();
    }
  });
});
