// Generated projects and the "write 1,000 files" command shared by bench/workspace.mjs and
// bench/lib/workspace-profile.mjs. Everything is deterministic (same tree, same contents, every run).
//
//   src           600 source files (40 dirs × 15 files, 1–8 KiB), package.json, README, .git-like dir
//   node_modules  28,000 files shaped like node_modules (1,400 packages × 20 files in nested dirs —
//                 lib/, lib/internal/, dist/, dist/types/ —, one package in ten scoped, 100 B–4 KiB),
//                 package.json, index.js, .git-like dir
//
// The .git-like directory: HEAD, config, description, an index, refs/heads/main, 3 hooks and 200
// loose objects in 50 directories (209 files).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** Deterministic printable filler (xorshift): file contents are slices of one buffer. */
const FILL = (() => {
  const buf = Buffer.alloc(64 * 1024);
  let x = 0x2545f491;
  for (let i = 0; i < buf.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = 32 + ((x >>> 0) % 95);
  }
  return buf;
})();

function generator() {
  let fillAt = 0;
  let seed = 12345;
  const rand = (lo, hi) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return lo + (seed % (hi - lo + 1));
  };
  const content = (size) => {
    if (fillAt + size > FILL.length) fillAt = 0;
    const slice = FILL.subarray(fillAt, fillAt + size);
    fillAt += 97;
    return slice;
  };
  const write = (root, rel, size) => {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content(size));
  };
  const gitDir = (root) => {
    writeFileSync(join(root, ".gitignore"), "node_modules/\ndist/\n");
    write(root, ".git/HEAD", 21);
    write(root, ".git/config", 250);
    write(root, ".git/description", 73);
    write(root, ".git/index", 40_000);
    write(root, ".git/refs/heads/main", 41);
    for (const hook of ["pre-commit.sample", "pre-push.sample", "commit-msg.sample"]) write(root, `.git/hooks/${hook}`, 1500);
    for (let d = 0; d < 50; d++) {
      for (let f = 0; f < 4; f++)
        write(root, `.git/objects/${(d * 5).toString(16).padStart(2, "0")}/${f}${"a".repeat(37)}`, rand(100, 3000));
    }
    return 209;
  };
  return { rand, write, gitDir };
}

/** Fills `root` (an empty directory) with the 600-file source project; returns its description. */
export function makeSourceProject(root) {
  const { rand, write, gitDir } = generator();
  let files = gitDir(root);
  write(root, "package.json", 600);
  write(root, "README.md", 3000);
  files += 2;
  for (let d = 0; d < 40; d++) {
    for (let f = 0; f < 15; f++) write(root, `src/mod${String(d).padStart(2, "0")}/file${String(f).padStart(2, "0")}.ts`, rand(1024, 8192));
  }
  return { name: "src", root, files: files + 600 };
}

/** Fills `root` (an empty directory) with the 28,000-file node_modules-shaped project; returns its description. */
export function makeNodeModulesProject(root) {
  const { rand, write, gitDir } = generator();
  let files = gitDir(root);
  write(root, "package.json", 900);
  write(root, "index.js", 2000);
  files += 2;
  const layout = [
    "package.json",
    "README.md",
    "LICENSE",
    "index.js",
    ...Array.from({ length: 8 }, (_, i) => `lib/m${i}.js`),
    ...Array.from({ length: 4 }, (_, i) => `lib/internal/h${i}.js`),
    ...Array.from({ length: 3 }, (_, i) => `dist/b${i}.js`),
    "dist/types/index.d.ts",
  ];
  for (let p = 0; p < 1400; p++) {
    const name = p % 10 === 0 ? `@scope-${p % 70}/pkg-${p}` : `pkg-${p}`;
    for (const rel of layout) write(root, `node_modules/${name}/${rel}`, rand(100, 4096));
  }
  return { name: "node_modules", root, files: files + 28_000 };
}

export const PROJECT_MAKERS = { src: makeSourceProject, node_modules: makeNodeModulesProject };

export const WRITE_FILES = 1000;
export const WRITE_SIZE = 4096;

/** The i-th file a write command produces for `tag`: WRITE_SIZE bytes, unique per tag and index. */
export function expectedFile(tag, i) {
  const line = `${tag} ${String(i).padStart(4, "0")} `;
  return `${line.repeat(Math.ceil(WRITE_SIZE / line.length)).slice(0, WRITE_SIZE - 1)}\n`;
}

/**
 * A shell command (python3 in the sandbox) writing WRITE_FILES files of WRITE_SIZE bytes into
 * `dir` (relative to the command's cwd; created when missing, files replaced when present). It
 * prints its own duration in milliseconds.
 */
export function writeCommand(dir, tag) {
  const py = [
    "import os, sys, time",
    "t = time.monotonic()",
    "d, tag, n, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])",
    "os.makedirs(d, exist_ok=True)",
    "for i in range(n):",
    '    line = "%s %04d " % (tag, i)',
    '    data = (line * (size // len(line) + 1))[: size - 1] + "\\n"',
    '    with open(os.path.join(d, "f%04d.txt" % i), "w") as f:',
    "        f.write(data)",
    'print("%.3f" % ((time.monotonic() - t) * 1000))',
  ].join("\n");
  return `python3 -c '${py}' ${dir} ${tag} ${WRITE_FILES} ${WRITE_SIZE}`;
}

/** Checks that `dir` holds exactly the WRITE_FILES files for `tag`; reads 25 of them (spread out) back. Returns how many were read. */
export function verifyFiles(dir, tag) {
  const names = readdirSync(dir).filter((n) => n.endsWith(".txt"));
  if (names.length !== WRITE_FILES) throw new Error(`${dir}: ${names.length} files, expected ${WRITE_FILES}`);
  for (let k = 0; k < 25; k++) {
    const i = Math.floor((k * (WRITE_FILES - 1)) / 24);
    const got = readFileSync(join(dir, `f${String(i).padStart(4, "0")}.txt`), "utf8");
    if (got !== expectedFile(tag, i)) throw new Error(`${dir}/f${i}: content differs from what the sandbox wrote (${tag})`);
  }
  return 25;
}
