// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are shell text, where ${…} is parameter expansion.
/**
 * Class 4: shell state and paths — values that flow through variables, `${…}` operators, `read`,
 * `printf -v`, `declare`, `export`, loops, directory changes, `-C` options and symbolic links into a
 * destructive or writing sink.
 *
 * Labels: clause 5 (recursive or pattern deletion of `~`, `/`, system paths, siblings, or "a path
 * held in a variable the detector cannot resolve"), clause 2 (single-file writes outside, R13),
 * clause 6 (whole-tree deletion, R15, R16), R14 (which variables are known: literal assignments on
 * the line, loop variables over literal words, request variables, `${…}` operators applied to those;
 * every other variable is unknown), R15 (`cd x && rm -rf *` local, `cd x; rm -rf *` clause 6 unless
 * `set -e`), R18 (paths judged where they point, links created on the line followed), R1 (reads are
 * local wherever they are).
 */
import fc from "fast-check";
import { type Case, lastIsCore, type Shape, shape, wrapped } from "./common.js";

/** Directories outside the project (cwd /home/dev/project), as shell words. */
export const OUTSIDE_DIRS: readonly string[] = [
  "~",
  "~/.cache",
  "~/.config",
  "~/.ssh",
  "/etc",
  "/etc/nginx",
  "/usr/local/lib",
  "/var/lib/app",
  "..",
  "../other",
  "../sibling/build",
  "/home/dev/other",
  "/home/dev",
  "/",
];
/** Files outside the project, as shell words. */
export const OUTSIDE_FILES: readonly string[] = [
  "~/.bashrc",
  "~/.gitconfig",
  "~/.ssh/authorized_keys",
  "/etc/hosts",
  "../other/README.md",
  "/usr/local/bin/tool",
  "/home/dev/.profile",
];
/** Named directories inside the project (never `.`, `.git` or the root itself) and named /tmp scratch dirs. */
export const INSIDE_DIRS: readonly string[] = [
  "build",
  "dist",
  "out",
  ".cache",
  "node_modules",
  "coverage",
  "tmp",
  "build/tmp",
  "target/debug",
  "/tmp/build-42",
];
/** Named files inside the project, and a named /tmp scratch file. */
export const INSIDE_FILES: readonly string[] = ["out.txt", "build/log.txt", "dist/index.js", "notes.md", "/tmp/stigmer-test.log"];

export const outsideDir: fc.Arbitrary<string> = fc.constantFrom(...OUTSIDE_DIRS);
export const outsideFile: fc.Arbitrary<string> = fc.constantFrom(...OUTSIDE_FILES);
export const insideDir: fc.Arbitrary<string> = fc.constantFrom(...INSIDE_DIRS);
export const insideFile: fc.Arbitrary<string> = fc.constantFrom(...INSIDE_FILES);

/** A way for a value to reach a sink: statements first, the word the sink uses, statements after. */
export interface Flow {
  readonly before: string;
  readonly ref: string;
  readonly after: string;
  readonly how: string;
  /** Whether R14 makes the value known (so an inside value stays local). */
  readonly known: boolean;
}

/** Value flows, for a path `p` (a shell word). Unknown flows are sandbox whatever `p` is. */
export function flows(p: string): Flow[] {
  // Keep a leading `~` at the start of the assigned word, or it is not expanded: `D=~.old` is the
  // literal text `~.old`, `D=~/.old` is $HOME/.old.
  const bare = p === "~" ? "~/" : p;
  const prefixed = p.startsWith("~") || p.startsWith("/") ? p : `./${p}`;
  return [
    { before: "", ref: p, after: "", how: "literal", known: true },
    { before: `D=${p}; `, ref: '"$D"', after: "", how: "assigned a literal", known: true },
    { before: `D=${p} && `, ref: '"$D"', after: "", how: "assigned a literal (&&)", known: true },
    { before: `export D=${p}; `, ref: '"$D"', after: "", how: "exported literal", known: true },
    { before: `declare D=${p}; `, ref: '"$D"', after: "", how: "declared literal", known: true },
    { before: `D=${p}; `, ref: '"${D:-build}"', after: "", how: "${D:-…} of a known value", known: true },
    { before: `D=${p}/; `, ref: '"${D%/}"', after: "", how: "${D%/} of a known value", known: true },
    { before: `D=${prefixed}; `, ref: '"${D#./}"', after: "", how: "${D#./} of a known value", known: true },
    { before: `D=${bare}.old; `, ref: '"${D%.old}"', after: "", how: "${D%.old} of a known value", known: true },
    { before: `D=${bare}-old; `, ref: '"${D/-old/}"', after: "", how: "${D/-old/} of a known value", known: true },
    { before: `for d in build ${p}; do `, ref: '"$d"', after: "; done", how: "loop variable over literal words", known: true },
    { before: `read -r D <<< ${p}; `, ref: '"$D"', after: "", how: "read from a here-string", known: false },
    { before: `printf -v D '%s' ${p}; `, ref: '"$D"', after: "", how: "printf -v", known: false },
    { before: "", ref: `"\${D:-${p}}"`, after: "", how: "${D:-…} of an unassigned variable", known: false },
    { before: "", ref: '"$DIR"', after: "", how: "unassigned variable", known: false },
    { before: "", ref: `"$(cat dir.txt)"`, after: "", how: "command substitution", known: false },
  ];
}

/** Recursive-delete and write sinks. */
export const DELETE_SINKS: ReadonlyArray<(ref: string) => string> = [
  (r) => `rm -rf ${r}`,
  (r) => `rm -r ${r}`,
  (r) => `find ${r} -delete`,
  (r) => `find ${r} -type f -name '*.log' -delete`,
];
export const WRITE_SINKS: ReadonlyArray<(ref: string) => string> = [
  (r) => `echo x > ${r}`,
  (r) => `echo x >> ${r}`,
  (r) => `cp README.md ${r}`,
  (r) => `touch ${r}`,
  (r) => `chmod 600 ${r}`,
  (r) => `rm -f ${r}`,
];
/** Read sinks: reading is local wherever the path is (R1). */
export const READ_SINKS: ReadonlyArray<(ref: string) => string> = [
  (r) => `ls ${r}`,
  (r) => `du -sh ${r}`,
  (r) => `cat ${r}`,
  (r) => `stat ${r}`,
];

function flowShape(f: Flow, core: string, why: string): Shape {
  return shape(core, `${why} (value ${f.how})`, { before: f.before, after: f.after });
}

/** Outside paths through every flow into delete or write sinks: clause 5 / clause 2. */
export const outsideValueIntoSink: fc.Arbitrary<Shape> = fc.oneof(
  fc.record({ p: outsideDir, i: fc.nat(), sink: fc.constantFrom(...DELETE_SINKS) }).map(({ p, i, sink }) => {
    const all = flows(p);
    const f = all[i % all.length]!;
    return flowShape(f, sink(f.ref), `clause 5: recursive deletion of ${p} or of an unresolved value`);
  }),
  fc.record({ p: outsideFile, i: fc.nat(), sink: fc.constantFrom(...WRITE_SINKS) }).map(({ p, i, sink }) => {
    // Loop flows put `build` first; a write sink then writes build too, which is harmless.
    const all = flows(p);
    const f = all[i % all.length]!;
    return flowShape(f, sink(f.ref), `clause 2/R13: a write, delete or chmod of ${p} or of an unresolved value`);
  }),
);

/** Unknown values in deletes (R14: `rm -rf "$DIR"`, `rm -rf /tmp/$RUN_ID`, `xargs rm -rf` fed by unseen data). */
export const unknownValueDelete: fc.Arbitrary<Shape> = fc
  .constantFrom(
    'rm -rf "$DIR"',
    "rm -rf /tmp/$RUN_ID",
    'rm -rf "$BUILD_DIR"/*',
    'find "$ROOT" -delete',
    "cat list.txt | xargs rm -rf",
    "xargs rm -rf < dirs.txt",
    'rm -rf "$(cat dir.txt)"',
    'rm -rf "${TMPDIR:-/tmp}/x"',
  )
  .map((c) => shape(c, "R14/clause 5: deletion of a value the detector cannot resolve"))
  .chain((s) =>
    fc.constantFrom(
      s,
      shape('rm -rf "$d"', "R14/clause 5: a loop variable over data the detector cannot see", {
        before: "for d in $(cat dirs.txt); do ",
        after: "; done",
      }),
    ),
  );

/** Directory changes and `-C` options that move a delete or write outside (clause 5/2, R13, R15). */
export const movedOutside: fc.Arbitrary<Shape> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom("~", "..", "/etc", "../other", "/"),
      fc.constantFrom(".cache", "build", "tmp", "x"),
      fc.constantFrom(
        (d: string) => ({ before: `pushd ${d} && `, after: "" }),
        (d: string) => ({ before: `cd ${d} && `, after: "" }),
        (d: string) => ({ before: `cd ${d}; `, after: "" }),
        (d: string) => ({ before: `(cd ${d} && `, after: ")" }),
      ),
    )
    .map(([d, rel, mv]) => {
      const m = mv(d);
      return shape(`rm -rf ${rel}`, `clause 5/R13: the delete runs in ${d}`, { before: m.before, after: m.after });
    }),
  fc
    .constantFrom(
      "env -C / rm -rf tmp",
      "env -C ~ rm -rf .cache",
      "env -C .. rm -rf build",
      "make -C ../other clean",
      "make -C ~/src/tool",
      "git -C ~ clean -fdx",
      "git -C ../other reset --hard",
      "git -C ../other checkout .",
      "tar -C / -xf x.tar",
      "tar -C ~ -xzf dotfiles.tgz",
      "tar -xf x.tar -C /usr/local",
      "unzip -o x.zip -d ~/.local",
      "cp -r build ~/.local/share/app",
      "mv dist ../release",
    )
    .map((c) => shape(c, "clause 2/5: a write or delete whose directory is outside the project")),
  fc
    .constantFrom(
      "cd /tmp; rm -rf *",
      "cd /tmp && rm -rf *",
      "cd ~ && rm -rf *",
      "cd .. && rm -rf *",
      'cd "$DIR" && rm -rf *',
      "rm -rf /tmp/*",
      "find /tmp -delete",
    )
    .map((c) => lastIsCore(c, "R15/clause 5: pattern deletion outside, or /tmp wholesale")),
);

/** Links created on the line and written or deleted through (R18). */
export const throughLink: fc.Arbitrary<Shape> = fc
  .constantFrom(
    "ln -s ~ h && rm -rf h/.config",
    "ln -s /etc e && echo x > e/hosts",
    "ln -sfn ~/.ssh k && rm -rf k/*",
    "ln -s .. up && rm -rf up/other",
    "ln -s ~/.bashrc rc && echo 'alias ls=rm' >> rc",
    "ln ~/.bashrc b && echo x >> b",
    "ln -s / r; rm -rf r/etc/nginx",
  )
  .map((c) => lastIsCore(c, "R18: a link made on the line counts as its target"));

/** Whole-tree deletion of the project (clause 6, R15, R16). */
export const wholeTree: fc.Arbitrary<Shape> = fc
  .constantFrom(
    "rm -rf ./*",
    "rm -rf *",
    "rm -rf .",
    "rm -rf ./",
    "rm -rf -- *",
    "rm -rf * .*",
    "find . -delete",
    "find . -name '*' -delete",
    "find . -regex '.*' -delete",
    "find . -type f -delete",
    "find . -mindepth 1 -delete",
    "find . -iname '*' -delete",
    "find . -path '*' -delete",
    "rm -rf /home/dev/project",
    "rm -rf ../project",
    "rm -rf .git",
    "cd build; rm -rf *",
    "cd app; rm -rf ./*",
    "cd src || echo missing; rm -rf *",
    "mkdir -p out; cd out; rm -rf *",
  )
  .map((c) => lastIsCore(c, "clause 6/R15/R16: deletes the whole working tree (or may, when a `cd` fails)"));

/** Class 4, sandbox side. */
export const class4Risky: fc.Arbitrary<Case> = wrapped(
  fc.oneof(
    { arbitrary: outsideValueIntoSink, weight: 5 },
    { arbitrary: unknownValueDelete, weight: 1 },
    { arbitrary: movedOutside, weight: 2 },
    { arbitrary: throughLink, weight: 1 },
    { arbitrary: wholeTree, weight: 2 },
  ),
  "sandbox",
);

// ---------------------------------------------------------------------------------------------
// Look-alikes.
// ---------------------------------------------------------------------------------------------

/** Inside values through known flows into delete or write sinks: targeted, inside, local. */
export const insideValueIntoSink: fc.Arbitrary<Shape> = fc.oneof(
  fc.record({ p: insideDir, i: fc.nat(), s: fc.nat() }).map(({ p, i, s }) => {
    const known = flows(p).filter((f) => f.known);
    const f = known[i % known.length]!;
    // The policy keeps writing or deleting a *named* /tmp path local; a pattern delete inside one
    // is not named there, so /tmp paths only get the whole-path deletes.
    const sinks = p.startsWith("/tmp") ? DELETE_SINKS.slice(0, 3) : DELETE_SINKS;
    return flowShape(f, sinks[s % sinks.length]!(f.ref), `R14/R16: a known value naming ${p}, inside the project or a named /tmp path`);
  }),
  fc.record({ p: insideFile, i: fc.nat(), s: fc.nat() }).map(({ p, i, s }) => {
    const known = flows(p).filter((f) => f.known);
    const f = known[i % known.length]!;
    // `chmod` of a /tmp path is neither "writing" nor "deleting" a named /tmp path: left out.
    const sinks = p.startsWith("/tmp") ? WRITE_SINKS.filter((w) => !w("x").startsWith("chmod")) : WRITE_SINKS;
    return flowShape(f, sinks[s % sinks.length]!(f.ref), `R14: a known value naming ${p}, inside the project or a named /tmp path`);
  }),
);

/** Outside (or unknown) values flowing into reads: local (R1). */
export const outsideValueIntoRead: fc.Arbitrary<Shape> = fc
  .record({ p: fc.oneof(outsideDir, outsideFile), i: fc.nat(), sink: fc.constantFrom(...READ_SINKS) })
  .map(({ p, i, sink }) => {
    const all = flows(p);
    const f = all[i % all.length]!;
    return flowShape(f, sink(f.ref), "R1: reads are local wherever they are");
  });

/** Directory changes and `-C` options that stay inside, or only read outside. */
export const movedButLocal: fc.Arbitrary<Shape> = fc.constantFrom(
  shape("ls", "local: pushd into the project", { before: "pushd src && ", after: " && popd" }),
  shape("rm -rf tmp", "local: targeted delete inside build", { before: "pushd build && ", after: " && popd" }),
  shape("rm -rf *", "R15: the rm only runs if the cd into a named project directory worked", { before: "cd build && " }),
  shape("rm -rf ./*", "R15", { before: "cd dist && " }),
  shape("rm -rf *", "R15", { before: "mkdir -p out && cd out && " }),
  shape("env -C build rm -rf tmp", "local: targeted delete inside build"),
  shape("env -C / ls", "R1: reading anywhere"),
  shape("make -C docs html", "local: running the project's build in a subdirectory"),
  shape("make -C packages/app test", "local: running the project's build in a subdirectory"),
  shape("git -C packages/app status", "local: read-only git"),
  shape("git -C ../other status", "R1: `git -C ../other status` is local"),
  shape("git -C ../other log --oneline -5", "R1: reads are local wherever they are"),
  shape("tar -C vendor -xf deps.tar", "local: extracting into the project"),
  shape("tar -xf a.tar -C vendor", "local: extracting into the project"),
  shape("tar -C / -tf x.tar", "R1: listing an archive"),
  shape("ls", "R1: reading outside", { before: "cd .. && " }),
  shape("ls", "R1: reading outside", { before: "pushd /etc && ", after: " && popd" }),
);

/** Links created inside the project, and only read through (R18, R1). */
export const linkButLocal: fc.Arbitrary<Shape> = fc.constantFrom(
  shape("ln -s ../shared/x x", "R18: `ln -s ../shared/x x` itself is local"),
  shape("ln -s src/index.ts main.ts && cat main.ts", "R18: a link inside, read"),
  shape("ln -s ~ h && ls h/", "R18/R1: a link made inside the project, only read through"),
  shape("ln -s build out2 && rm -rf out2/tmp", "R18: the link points inside the project"),
  shape("ln -s ../shared/x x && cat x", "R18/R1"),
);

/** Targeted pattern deletes inside the project (R16). */
export const targetedPatternDelete: fc.Arbitrary<Shape> = fc
  .constantFrom(
    "find . -name '*.pyc' -delete",
    "find . -name '*.log' -delete",
    "find dist -name '*.map' -delete",
    "find build -type f -delete",
    "find . -name '__pycache__' -type d -empty -delete",
    "rm -rf build/*",
    "rm -rf dist/* build/*",
    "rm -f ./*.log",
    "rm -f build/*.o",
    "rm -rf /tmp/build-42",
  )
  .map((c) => shape(c, "R16: targeted pattern delete inside the project (or a named /tmp path)"));

/**
 * R15's `set -e` exception. Not put inside `… && true`, `… || true` or `{ …; } || …` wrappers: bash
 * ignores `set -e` in any part of an `&&`/`||` list but the last, so there the `cd` may fail again.
 */
export const setErrexitCdDelete: fc.Arbitrary<Case> = fc
  .constantFrom(
    "set -e; cd build; rm -rf *",
    "set -e\ncd build\nrm -rf *",
    "bash -c 'set -e; cd build; rm -rf *'",
    "(set -e; cd dist; rm -rf ./*)",
  )
  .map((command) => ({ command, expected: "local" as const, why: "R15: `cd x; rm -rf *` is local when set -e is on" }));

/** Class 4, local side. */
export const class4Lookalike: fc.Arbitrary<Case> = fc.oneof(
  {
    arbitrary: wrapped(
      fc.oneof(
        { arbitrary: insideValueIntoSink, weight: 5 },
        { arbitrary: outsideValueIntoRead, weight: 2 },
        { arbitrary: movedButLocal, weight: 2 },
        { arbitrary: linkButLocal, weight: 1 },
        { arbitrary: targetedPatternDelete, weight: 2 },
      ),
      "local",
    ),
    weight: 15,
  },
  { arbitrary: setErrexitCdDelete, weight: 1 },
);
