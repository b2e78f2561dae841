// Diagnostic, not run by `pnpm bench`: where the time of a `sync`-strategy command goes, on a
// generated project (bench/lib/workspace-projects.mjs), by wrapping core's WorkspaceMirrors and
// HostTree methods in this process (no product code changed):
//
//   syncIn   settle (watcher events) · scan (host walk or watched dirs) · pack (host tar: open,
//            read, encode; time spent inside the archive iterator) · push tail (after the last
//            chunk: the agent finishes tar -x and records every pushed path)
//   syncOut  pull (until the agent answered: its scan of dirty dirs) · archive wait (the agent
//            making and sending the tar) · apply (host: checks and writes, time outside the
//            archive iterator)
//   rest     total − syncIn − syncOut: acquire (container create on a cold run), the command
//            through the agent, core's own overhead
//
// Scenarios: cold `true`, warm `true`, one host file edited then `true` (twice), and the 1,000-file
// create and rewrite of bench/workspace.mjs. With PROFILE_CPU=1, the host's CPU profile (node
// inspector) of the cold run and of the write runs: top functions by self time. Then, in the same
// container, the agent's own steps timed by a Python snippet that drives its Workspace class on a
// scratch copy: tar -x alone, push (tar -x + recording), the rescan the next pull does.
//
// Usage: node bench/lib/workspace-profile.mjs [src|node_modules] (default node_modules)
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { applyChanges, HostTree, packHostChanges, packTar, WorkspaceMirrors } from "@stigmer/core";
import { sandboxExecutor } from "./executor.mjs";
import { fmtMs, summarize, table } from "./stats.mjs";
import { expectedFile, PROJECT_MAKERS, verifyFiles, writeCommand } from "./workspace-projects.mjs";

const IMAGE = "stigmer-test/sandbox-basic:ci";
const PROJECT = process.argv[2] ?? "node_modules";
const CPU = process.env.PROFILE_CPU === "1";
const execFileP = promisify(execFile);
const docker = async (...args) => (await execFileP("docker", args, { maxBuffer: 64 * 1024 * 1024 })).stdout.trim();

// ------------------------------------------------------------------ instrumentation

/** Spans of the current run: name → ms (summed when a span repeats). */
let spans = {};
const add = (name, ms) => {
  spans[name] = (spans[name] ?? 0) + ms;
};
const counters = {};
function wrapMethod(proto, method, name) {
  const original = proto[method];
  proto[method] = function (...args) {
    const t0 = performance.now();
    const out = original.apply(this, args);
    if (out && typeof out.then === "function") return out.finally(() => add(name, performance.now() - t0));
    add(name, performance.now() - t0);
    return out;
  };
}

/** Times an async iterable: time inside next() (the producer) vs between calls (the consumer). */
function timedIterable(source, inside, outside, onEnd) {
  return {
    [Symbol.asyncIterator]() {
      const it = source[Symbol.asyncIterator]();
      let last;
      return {
        async next() {
          const t0 = performance.now();
          if (last !== undefined) add(outside, t0 - last);
          const r = await it.next();
          last = performance.now();
          add(inside, last - t0);
          if (!r.done) {
            counters[`${inside} chunks`] = (counters[`${inside} chunks`] ?? 0) + 1;
            counters[`${inside} bytes`] = (counters[`${inside} bytes`] ?? 0) + r.value.length;
          } else onEnd?.(last);
          return r;
        },
        return: (v) => it.return?.(v) ?? Promise.resolve({ done: true, value: v }),
      };
    },
  };
}

const proto = WorkspaceMirrors.prototype;
const syncIn = proto.syncIn;
proto.syncIn = function (root, files) {
  const t0 = performance.now();
  const wrapped = {
    ...files,
    async push(archive, deletions, options) {
      add("syncIn: entries pushed", options.paths.length);
      let lastChunk;
      const p0 = performance.now();
      await files.push(
        timedIterable(archive, "syncIn: pack (host tar, inside iterator)", "syncIn: send (frames to the socket)", (t) => {
          lastChunk = t;
        }),
        deletions,
        options,
      );
      const end = performance.now();
      add("syncIn: push total", end - p0);
      add("syncIn: push tail (agent extract + record after last chunk)", end - (lastChunk ?? p0));
    },
  };
  return syncIn.call(this, root, wrapped).finally(() => add("syncIn", performance.now() - t0));
};
const syncOut = proto.syncOut;
proto.syncOut = function (root, files) {
  const t0 = performance.now();
  const wrapped = {
    ...files,
    async pull() {
      const p0 = performance.now();
      const r = await files.pull();
      add("syncOut: pull (agent scan until DELETIONS)", performance.now() - p0);
      counters["syncOut: calls"] = (counters["syncOut: calls"] ?? 0) + 1;
      return r.archive
        ? {
            ...r,
            archive: timedIterable(r.archive, "syncOut: archive wait (agent tar + transfer)", "syncOut: apply (host, outside iterator)"),
          }
        : r;
    },
  };
  return syncOut.call(this, root, wrapped).finally(() => add("syncOut", performance.now() - t0));
};
wrapMethod(HostTree.prototype, "settle", "syncIn: settle");
wrapMethod(HostTree.prototype, "scan", "syncIn: scan (host)");
wrapMethod(HostTree.prototype, "commit", "syncIn: commit (manifest)");

// ------------------------------------------------------------------ CPU profile (host)

const session = new Session();
session.connect();
async function cpuProfile(fn) {
  if (!CPU) return { value: await fn(), top: [] };
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 1000 });
  await session.post("Profiler.start");
  const value = await fn();
  const { profile } = await session.post("Profiler.stop");
  const dt = (profile.endTime - profile.startTime) / 1000 / profile.samples.length;
  const self = new Map();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || "(anonymous)"} ${url.replace(/^.*\/(packages|node_modules)\//, "$1/")}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (node.hitCount ?? 0) * dt);
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 14);
  return { value, top };
}

// ------------------------------------------------------------------ scenarios

const root = realpathSync(mkdtempSync(join(tmpdir(), "stigmer-prof-ws-")));
const project = PROJECT_MAKERS[PROJECT](root);
const executor = sandboxExecutor({ image: IMAGE });
process.once("SIGINT", async () => {
  await executor.dispose();
  rmSync(root, { recursive: true, force: true });
  process.exit(130);
});

const rows = [];
async function measure(label, command, check) {
  spans = {};
  for (const k of Object.keys(counters)) delete counters[k];
  const t0 = performance.now();
  const { value: r, top } = await cpuProfile(() => executor.run({ command, cwd: root, mode: "sandbox" }));
  const total = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${label}: exit ${r.exitCode}: ${r.stderr}`);
  check?.(r);
  const s = { ...spans };
  const rest = total - (s.syncIn ?? 0) - (s.syncOut ?? 0);
  rows.push({
    label,
    total,
    rest,
    spans: s,
    counters: { ...counters },
    applied: r.workspace?.applied,
    inside: Number(r.stdout.trim()) || undefined,
  });
  if (top.length) {
    process.stdout.write(`\nhost CPU, top self time — ${label} (${fmtMs(total)} wall)\n`);
    process.stdout.write(`${table([["function", "self"], ...top.map(([k, ms]) => [k, fmtMs(ms)])])}\n`);
  }
  return r;
}

try {
  // Plugins and the engine warmed up on a scratch project, so the cold run below is a sandbox's cost only.
  {
    const scratch = realpathSync(mkdtempSync(join(tmpdir(), "stigmer-prof-ws-warm-")));
    writeFileSync(join(scratch, "a"), "a");
    const e = sandboxExecutor({ image: IMAGE });
    await e.run({ command: "true", cwd: scratch, mode: "sandbox" });
    await e.dispose();
    rmSync(scratch, { recursive: true, force: true });
  }
  await measure("cold: true", "true");
  for (let i = 0; i < 3; i++) await measure(`warm: true #${i + 1}`, "true");
  const edited = PROJECT === "src" ? "src/mod00/file00.ts" : "node_modules/pkg-1/index.js";
  writeFileSync(join(root, edited), "// edited on the host\n");
  await measure("host edited 1 file, then: true", "true");
  await measure("… then true again", "true");
  for (let i = 0; i < 3; i++) {
    const rel = `bench-out/r${i}`;
    await measure(`create 1,000 files #${i + 1}`, writeCommand(rel, `c${i}`), () => verifyFiles(join(root, rel), `c${i}`));
    await measure(`rewrite those 1,000 #${i + 1}`, writeCommand(rel, `w${i}`), () => verifyFiles(join(root, rel), `w${i}`));
  }
  await measure("… then true", "true");

  const names = [
    "syncIn: settle",
    "syncIn: scan (host)",
    "syncIn: pack (host tar, inside iterator)",
    "syncIn: send (frames to the socket)",
    "syncIn: push tail (agent extract + record after last chunk)",
    "syncIn: push total",
    "syncIn",
    "syncOut: pull (agent scan until DELETIONS)",
    "syncOut: archive wait (agent tar + transfer)",
    "syncOut: apply (host, outside iterator)",
    "syncOut",
  ];
  process.stdout.write(`\nProject ${PROJECT} (${project.files} files): per-run breakdown, ms (— = not called)\n`);
  const short = (n) => n.replace(/ \(.*\)$/, "");
  process.stdout.write(
    `${table([
      ["run", "total", "rest (acquire+run+core)", ...names.map(short), "pushed", "frames in", "frames out", "applied", "cmd inside"],
      ...rows.map((r) => [
        r.label,
        r.total.toFixed(1),
        r.rest.toFixed(1),
        ...names.map((n) => (r.spans[n] === undefined ? "—" : r.spans[n].toFixed(1))),
        String(r.spans["syncIn: entries pushed"] ?? 0),
        String(r.counters["syncIn: pack (host tar, inside iterator) chunks"] ?? 0),
        String(r.counters["syncOut: archive wait (agent tar + transfer) chunks"] ?? 0),
        String(r.applied ?? ""),
        r.inside ? r.inside.toFixed(1) : "",
      ]),
    ])}\n`,
  );

  // The agent's own steps, in the same container, on a scratch copy driven through its Workspace class.
  const container = (
    await docker("ps", "-q", "--filter", "label=dev.stigmer.managed-by=stigmer", "--filter", `label=dev.stigmer.workspace=${root}`)
  ).split("\n")[0];
  const tree = new HostTree(root, { watch: false });
  const changes = tree.scan();
  const chunks = [];
  for await (const c of packHostChanges(root, changes, new Set())) chunks.push(Buffer.from(c));
  const archive = Buffer.concat(chunks);
  const py = `
import io, os, subprocess, sys, time
sys.path.insert(0, "/opt/stigmer-agent")
from stigmer_workspace import Workspace
data = sys.stdin.buffer.read()
paths = sys.argv[1:] and open(sys.argv[1]).read().split("\\n") or []
def spawn(args, **kw): return subprocess.Popen(args, **kw)
def finish(p): return p.wait()
out = {}
t = time.monotonic(); p = subprocess.Popen(["tar", "-x", "-o", "-f", "-", "-C", "/tmp/prof-a"], stdin=subprocess.PIPE); p.communicate(data); out["tar -x alone"] = time.monotonic() - t
t = time.monotonic(); w = Workspace("/tmp/prof-b", spawn, finish); out["Workspace() init"] = time.monotonic() - t
chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)]
it = iter(chunks)
t = time.monotonic(); w.push(lambda: next(it, None), [], paths, False, {}); out["push (tar -x + record + watch), 64 KiB chunks"] = time.monotonic() - t
t = time.monotonic(); d = w.is_dirty(); out["is_dirty() right after push -> %s" % d] = time.monotonic() - t
t = time.monotonic(); u, seen, gone = w.changes(); out["changes() after push: %d upserts, %d dirs rescanned" % (len(u), len(w.dirty))] = time.monotonic() - t
w.commit(u, seen, gone)
t = time.monotonic(); u, seen, gone = w.changes(); out["changes() when clean"] = time.monotonic() - t
for k, v in out.items(): print("%8.1f ms  %s" % (v * 1000, k))
`;
  const listFile = join(root, ".stigmer-prof-paths");
  writeFileSync(listFile, changes.upserts.map(([p]) => p).join("\n"));
  await docker("exec", container, "mkdir", "-p", "/tmp/prof-a", "/tmp/prof-b");
  await docker("cp", listFile, `${container}:/tmp/prof-paths`);
  rmSync(listFile);
  const agentOut = await new Promise((resolve, reject) => {
    const child = spawn("docker", ["exec", "-i", container, "python3", "-B", "-c", py, "/tmp/prof-paths"]);
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
    child.stdin.end(archive);
  });
  await docker("exec", container, "rm", "-rf", "/tmp/prof-a", "/tmp/prof-b", "/tmp/prof-paths");
  process.stdout.write(
    `\nAgent side, in the same container (python3 driving stigmer_workspace.Workspace on a scratch dir; archive ${(archive.length / 1e6).toFixed(1)} MB, ${changes.upserts.length} entries, as packHostChanges makes it):\n${agentOut}`,
  );
  // Host side alone, no sandbox: the walk, the pack, and the apply of a 1,000-file change set.
  const median = (fn, n = 3) =>
    (async () => {
      const xs = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await fn(i);
        xs.push(performance.now() - t0);
      }
      return summarize(xs).median;
    })();
  const walkMs = await median(() => new HostTree(root, { watch: false }).scan());
  const packMs = await median(async () => {
    for await (const _ of packHostChanges(root, changes, new Set())) {
    }
  });
  const readSyncMs = await median(() => {
    for (const [p, e] of changes.upserts) if (e.type === "file") readFileSync(join(root, p));
  });
  const entriesPerFrame = (chunks.length / changes.upserts.length).toFixed(2);
  // applyChanges of 1,000 new 4 KiB files, then of new content for the same files, into a scratch project.
  const scratch = realpathSync(mkdtempSync(join(tmpdir(), "stigmer-prof-apply-")));
  const scratchTree = new HostTree(scratch, { watch: false });
  scratchTree.commit(scratchTree.scan());
  const changeSet = (dir, tag) =>
    packTar(
      (function* () {
        yield { entry: { path: dir, type: "directory", mode: 0o755, size: 0, mtimeMs: Date.now() } };
        for (let i = 0; i < 1000; i++) {
          const data = Buffer.from(expectedFile(tag, i));
          yield {
            entry: { path: `${dir}/f${String(i).padStart(4, "0")}.txt`, type: "file", mode: 0o644, size: data.length, mtimeMs: Date.now() },
            content: data,
          };
        }
      })(),
    );
  const tarFile = join(scratch, "..", `${scratch.split("/").pop()}.tar`);
  const applyCreate = [];
  const applyRewrite = [];
  const hostTar = [];
  for (let i = 0; i < 3; i++) {
    let t0 = performance.now();
    await applyChanges(changeSet(`a${i}`, `c${i}`), [], { root: scratch, tree: scratchTree });
    applyCreate.push(performance.now() - t0);
    verifyFiles(join(scratch, `a${i}`), `c${i}`);
    t0 = performance.now();
    await applyChanges(changeSet(`a${i}`, `w${i}`), [], { root: scratch, tree: scratchTree });
    applyRewrite.push(performance.now() - t0);
    verifyFiles(join(scratch, `a${i}`), `w${i}`);
    const bytes = [];
    for await (const c of changeSet(`t${i}`, `c${i}`)) bytes.push(Buffer.from(c));
    writeFileSync(tarFile, Buffer.concat(bytes));
    t0 = performance.now();
    await execFileP("tar", ["-x", "-f", tarFile, "-C", scratch]);
    hostTar.push(performance.now() - t0);
  }
  rmSync(tarFile, { force: true });
  rmSync(scratch, { recursive: true, force: true });
  process.stdout.write(
    `\nHost side alone (no sandbox), medians of 3:\n${table([
      ["step", "ms"],
      [`full walk of the project (HostTree.scan, no watchers, ${changes.upserts.length} entries)`, walkMs.toFixed(1)],
      [`packHostChanges of all of it, drained (${chunks.length} chunks = frames, ${entriesPerFrame} per entry)`, packMs.toFixed(1)],
      ["  the same files read with readFileSync, for reference", readSyncMs.toFixed(1)],
      ["applyChanges: 1,000 new 4 KiB files (+ their dir)", summarize(applyCreate).median.toFixed(1)],
      ["applyChanges: new content for those 1,000 files", summarize(applyRewrite).median.toFixed(1)],
      ["  host `tar -x` of the same 1,000 new files, for reference", summarize(hostTar).median.toFixed(1)],
    ])}\n`,
  );
} finally {
  await executor.dispose();
  session.disconnect();
  rmSync(root, { recursive: true, force: true });
}
