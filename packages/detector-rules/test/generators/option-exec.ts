/**
 * Class 2: option-exec surfaces — programs that run other programs through an option, a pager, an
 * editor command, a config key, an environment variable or inline code of another language.
 *
 * Clause 8: "the value is analysed as a command when it is visible, and sent to the sandbox when it
 * is not"; R22: "judged by the program they run"; R10: a database shell's own escape to the system
 * shell is clause 8 wherever the server is; the rule's list of parts includes "visible inline code
 * of other languages (python -c, node -e, perl -e, awk system(), sed e)".
 *
 * Risky side: every surface × a risky payload (so the part it runs is sandbox by clauses 1–8), a
 * program or library outside the project or not visible (clause 8), and the database escapes with
 * any payload (R10).
 * Look-alike side, two arbitraries: the same programs in plain harmless forms
 * ({@link class2Lookalike}), and the surfaces whose harmless visible value the policy keeps local
 * with a harmless payload ({@link class2HarmlessValue}).
 */
import fc from "fast-check";
import { type Case, type Head, type Shape, shape, sq, wrapped } from "./common.js";
import {
  argvOf,
  fitsLanguageString,
  HARMLESS_PAYLOADS,
  harmlessPayload,
  harmlessPlainPayload,
  isPlain,
  type Payload,
  RISKY_PROGRAMS,
  riskyCodeFile,
  riskyLanguagePayload,
  riskyLibrary,
  riskyPayload,
  riskyPlainPayload,
} from "./payloads.js";

/**
 * What a harmless visible value makes of a surface: `local` (analysed and found harmless), `sandbox`
 * (R10: database escapes are clause 8 whatever they run) or `unclear` (the policy does not settle
 * it; such surfaces only get risky payloads).
 */
export type HarmlessVerdict = "local" | "sandbox" | "unclear";

/** How a surface takes its payload. */
export type Takes = "line" | "argv" | "plain" | "language" | "pager";

export interface Surface {
  readonly name: string;
  readonly takes: Takes;
  /** Builds the command from the payload (a line, an argument vector or a string for a language literal). */
  readonly make: (payload: string) => string;
  readonly head: Head;
  readonly harmless: HarmlessVerdict;
}

const s = (name: string, takes: Takes, make: (p: string) => string, harmless: HarmlessVerdict, head: Head = "program"): Surface => ({
  name,
  takes,
  make,
  head,
  harmless,
});

/** Surfaces that run a shell command line given as one string. */
export const LINE_SURFACES: readonly Surface[] = [
  s("man -P", "pager", (p) => `man -P ${sq(p)} ls`, "local"),
  s("PAGER=", "pager", (p) => `PAGER=${sq(p)} git log`, "local", "assignment"),
  s("GIT_PAGER=", "pager", (p) => `GIT_PAGER=${sq(p)} git log -p`, "local", "assignment"),
  s("MANPAGER=", "pager", (p) => `MANPAGER=${sq(p)} man ls`, "local", "assignment"),
  s("git -c core.pager=", "pager", (p) => `git -c core.pager=${sq(p)} log`, "local"),
  s("less +!", "line", (p) => `less ${sq(`+!${p}`)} README.md`, "local"),
  s("vim -c :!", "line", (p) => `vim -c ${sq(`:!${p}`)} README.md`, "unclear"),
  s("git -c alias.x=!", "line", (p) => `git -c alias.x=${sq(`!${p}`)} x`, "unclear"),
  s("git -c core.sshCommand=", "line", (p) => `git -c core.sshCommand=${sq(p)} fetch`, "local"),
  s("GIT_SSH_COMMAND=", "line", (p) => `GIT_SSH_COMMAND=${sq(p)} git fetch`, "local", "assignment"),
  s("git -c core.editor=", "line", (p) => `git -c core.editor=${sq(p)} commit --amend`, "local"),
  s("GIT_EDITOR=", "line", (p) => `GIT_EDITOR=${sq(p)} git commit --amend`, "local", "assignment"),
  s("git -c core.fsmonitor=", "line", (p) => `git -c core.fsmonitor=${sq(p)} status`, "unclear"),
  s("git -c diff.external=", "line", (p) => `git -c diff.external=${sq(p)} diff`, "unclear"),
  s("git -c credential.helper=!", "line", (p) => `git -c credential.helper=${sq(`!${p}`)} fetch`, "unclear"),
  s("tar --to-command", "line", (p) => `tar --to-command=${sq(p)} -xf a.tar`, "local"),
  s("tar --checkpoint-action=exec", "line", (p) => `tar -cf x.tar --checkpoint=1 --checkpoint-action=exec=${sq(p)} .`, "local"),
  s("watch", "line", (p) => `watch ${sq(p)}`, "local"),
  s("watch -n", "line", (p) => `watch -n 1 ${sq(p)}`, "local"),
  s("hyperfine", "line", (p) => `hyperfine ${sq(p)}`, "unclear"),
  s("nodemon --exec", "line", (p) => `nodemon --exec ${sq(p)}`, "unclear"),
  s("zip -TT", "line", (p) => `zip x.zip README.md -T -TT ${sq(p)}`, "unclear"),
  s("sed e", "line", (p) => `sed -n ${sq(`1e ${p}`)} README.md`, "local"),
  s("sed e (no -n)", "line", (p) => `sed ${sq(`1e ${p}`)} README.md`, "local"),
  s("trap", "line", (p) => `trap ${sq(p)} EXIT`, "local", "builtin"),
  s("flock -c", "line", (p) => `flock /tmp/x.lock -c ${sq(p)}`, "local"),
  s("script -c", "line", (p) => `script -q -c ${sq(p)} /dev/null`, "unclear"),
  s("psql \\!", "line", (p) => `psql -h localhost -c ${sq(`\\! ${p}`)}`, "sandbox"),
  s("sqlite3 .shell", "line", (p) => `sqlite3 x.db ${sq(`.shell ${p}`)}`, "sandbox"),
  s("sqlite3 .system", "line", (p) => `sqlite3 app.db ${sq(`.system ${p}`)}`, "sandbox"),
  s("mysql system", "line", (p) => `mysql -h localhost -e ${sq(`system ${p}`)}`, "sandbox"),
];

/** Surfaces that run an argument vector (the payload is a simple command; shell lines go through `sh -c`). */
export const ARGV_SURFACES: readonly Surface[] = [
  s("find -exec ;", "argv", (a) => `find . -type f -exec ${a} \\;`, "local"),
  s("find -execdir", "argv", (a) => `find . -name '*.md' -execdir ${a} \\;`, "local"),
  s("find -exec +", "argv", (a) => `find . -name '*.ts' -exec ${a} {} +`, "local"),
  s("fd -x", "argv", (a) => `fd -e ts -x ${a}`, "local"),
  s("fd -X", "argv", (a) => `fd -e md -X ${a}`, "local"),
  s("xargs", "argv", (a) => `git ls-files | xargs ${a}`, "local"),
  s("xargs -n1", "argv", (a) => `printf '%s\\n' a b | xargs -n1 ${a}`, "local"),
  s("timeout", "argv", (a) => `timeout 5 ${a}`, "local"),
  s("nice", "argv", (a) => `nice -n 10 ${a}`, "local"),
  s("stdbuf", "argv", (a) => `stdbuf -oL ${a}`, "local"),
  s("env -i", "argv", (a) => `env -i PATH=/usr/bin:/bin ${a}`, "local"),
  s("flock", "argv", (a) => `flock /tmp/x.lock ${a}`, "local"),
  s("nohup", "argv", (a) => `nohup ${a}`, "local"),
];

/** Surfaces that split the string themselves, with no shell: only payloads without shell syntax. */
export const PLAIN_SURFACES: readonly Surface[] = [
  s("env -S", "plain", (p) => `env -S ${sq(p)}`, "local"),
  s("rsync -e", "plain", (p) => `rsync -e ${sq(p)} -a src/ backup/`, "unclear"),
];

/** Surfaces where the payload is a string literal of another language's process call. */
export const LANGUAGE_SURFACES: readonly Surface[] = [
  s("awk BEGIN system()", "language", (p) => `awk ${sq(`BEGIN{system("${p}")}`)}`, "local"),
  s("awk system() per line", "language", (p) => `awk ${sq(`{ system("${p}") }`)} README.md`, "local"),
  s("python3 -c os.system", "language", (p) => `python3 -c ${sq(`import os; os.system("${p}")`)}`, "local"),
  s("python3 -c subprocess", "language", (p) => `python3 -c ${sq(`import subprocess; subprocess.run("${p}", shell=True)`)}`, "local"),
  s("python3 -c os.popen", "language", (p) => `python3 -c ${sq(`import os; print(os.popen("${p}").read())`)}`, "local"),
  s("node -e execSync", "language", (p) => `node -e ${sq(`require("child_process").execSync("${p}")`)}`, "local"),
  s("node -e exec", "language", (p) => `node -e ${sq(`require("child_process").exec("${p}")`)}`, "local"),
  s("perl -e system", "language", (p) => `perl -e ${sq(`system("${p}")`)}`, "local"),
  s("ruby -e system", "language", (p) => `ruby -e ${sq(`system("${p}")`)}`, "local"),
  s("lua -e os.execute", "language", (p) => `lua -e ${sq(`os.execute("${p}")`)}`, "unclear"),
  s("Rscript -e system", "language", (p) => `Rscript -e ${sq(`system("${p}")`)}`, "unclear"),
  s("php -r system", "language", (p) => `php -r ${sq(`system("${p}");`)}`, "unclear"),
];

export const ALL_SURFACES: readonly Surface[] = [...LINE_SURFACES, ...ARGV_SURFACES, ...PLAIN_SURFACES, ...LANGUAGE_SURFACES];

/** The payload in the form a surface takes. */
export function fit(surface: Surface, p: Payload): string {
  return surface.takes === "argv" ? argvOf(p) : p.line;
}

/** The risky payloads a surface can take. */
function riskyFor(surface: Surface): fc.Arbitrary<Payload> {
  switch (surface.takes) {
    case "plain":
      return riskyPlainPayload;
    case "language":
      return riskyLanguagePayload;
    default:
      return riskyPayload;
  }
}

/** Every surface with a risky payload: the part it runs is sandbox. */
export const surfaceWithRiskyPayload: fc.Arbitrary<Shape> = fc.constantFrom(...ALL_SURFACES).chain((surface) =>
  riskyFor(surface).map((p) =>
    shape(surface.make(fit(surface, p)), `clause 8 (${surface.name} runs its value, analysed as a command): ${p.why}`, {
      head: surface.head,
    }),
  ),
);

/** R10: database shells' escapes to the system shell are clause 8 whatever they run. */
export const databaseEscapeAnyPayload: fc.Arbitrary<Shape> = fc
  .tuple(fc.constantFrom(...LINE_SURFACES.filter((x) => x.harmless === "sandbox")), fc.oneof(harmlessPayload, riskyPayload))
  .map(([surface, p]) =>
    shape(surface.make(p.line), `R10: ${surface.name} is a database shell's escape to the system shell`, { head: surface.head }),
  );

/** Programs, libraries and code files that are outside the project or not visible. */
export const PROGRAM_SURFACES: ReadonlyArray<{
  readonly name: string;
  readonly make: (prog: string) => string;
  readonly head: Head;
  readonly tildeOk: boolean;
}> = [
  {
    name: "sort --compress-program",
    make: (x) => `sort --compress-program ${x} -S 1M big.txt -o sorted.txt`,
    head: "program",
    tildeOk: true,
  },
  {
    name: "sort --compress-program=",
    make: (x) => `sort --compress-program=${x} -S 1M big.txt -o sorted.txt`,
    head: "program",
    tildeOk: false,
  },
  { name: "GIT_EXTERNAL_DIFF=", make: (x) => `GIT_EXTERNAL_DIFF=${x} git diff`, head: "assignment", tildeOk: true },
  { name: "rg --pre", make: (x) => `rg --pre ${x} TODO`, head: "program", tildeOk: true },
  { name: "tar -I", make: (x) => `tar -I ${x} -xf a.tar.zst`, head: "program", tildeOk: true },
  { name: "tar --use-compress-program", make: (x) => `tar --use-compress-program ${x} -cf out.tar.x src`, head: "program", tildeOk: true },
  { name: "LESSOPEN=", make: (x) => `LESSOPEN="|${x.replaceAll('"', "")} %s" less README.md`, head: "assignment", tildeOk: true },
  { name: "make SHELL=", make: (x) => `make SHELL=${x}`, head: "program", tildeOk: true },
  { name: "git -c gpg.program=", make: (x) => `git -c gpg.program=${x} commit -S -m x`, head: "program", tildeOk: false },
  { name: "git -c core.hooksPath=", make: (x) => `git -c core.hooksPath=${x} commit -m x`, head: "program", tildeOk: false },
];

export const programOutsideProject: fc.Arbitrary<Shape> = fc
  .record({ surface: fc.constantFrom(...PROGRAM_SURFACES), pick: fc.nat(RISKY_PROGRAMS.length - 1) })
  .map(({ surface, pick }) => {
    const pool = RISKY_PROGRAMS.filter((x) => surface.tildeOk || !x.startsWith("~"));
    const prog = pool[pick % pool.length]!;
    return shape(surface.make(prog), `clause 8: ${surface.name} runs ${prog}, outside the project or not visible`, { head: surface.head });
  });

/** Libraries and startup files that a variable makes a program load. */
export const loadedFromOutside: fc.Arbitrary<Shape> = fc.oneof(
  fc
    .tuple(riskyLibrary, fc.constantFrom("ls", "npm test", "git status", "python3 app.py"))
    .map(([lib, cmd]) => shape(`LD_PRELOAD=${lib} ${cmd}`, `clause 8: LD_PRELOAD loads ${lib}`, { head: "assignment" })),
  riskyCodeFile.map((f) => shape(`BASH_ENV=${f} bash -c true`, `clause 8: BASH_ENV makes bash source ${f}`, { head: "assignment" })),
  riskyCodeFile.map((f) =>
    shape(`NODE_OPTIONS=--require=${f.endsWith('"') ? f : `${f}.js`} node app.js`, `clause 8: NODE_OPTIONS --require loads ${f}`, {
      head: "assignment",
    }),
  ),
);

/** Class 2, sandbox side. */
export const class2Risky: fc.Arbitrary<Case> = wrapped(
  fc.oneof(
    { arbitrary: surfaceWithRiskyPayload, weight: 6 },
    { arbitrary: databaseEscapeAnyPayload, weight: 1 },
    { arbitrary: programOutsideProject, weight: 2 },
    { arbitrary: loadedFromOutside, weight: 1 },
  ),
  "sandbox",
);

// ---------------------------------------------------------------------------------------------
// Look-alikes.
// ---------------------------------------------------------------------------------------------

/** The same programs in plain harmless forms. */
export const HARMLESS_FORMS: ReadonlyArray<{ readonly command: string; readonly head?: Head }> = [
  { command: "man ls" },
  { command: "man 3 printf" },
  { command: "man -k socket" },
  { command: "less README.md" },
  { command: "less -N src/index.ts" },
  { command: "sort -o out.txt in.txt" },
  { command: "sort -u names.txt" },
  { command: "sort -t, -k2 -n data.csv" },
  { command: "sort --compress-program gzip -S 1M big.txt -o sorted.txt" },
  { command: "rsync -a src/ build/src/" },
  { command: "git -c color.ui=always log" },
  { command: "git -c core.quotepath=off status" },
  { command: "git -c diff.noprefix=true diff" },
  { command: "git -c user.email=ci@example.org commit -m msg" },
  { command: "PAGER=cat git log", head: "assignment" },
  { command: "GIT_PAGER=cat git log -p", head: "assignment" },
  { command: "tar -xf a.tar -C vendor" },
  { command: "tar -czf out.tgz src" },
  { command: "tar -tf a.tar" },
  { command: "tar -I zstd -xf a.tar.zst" },
  { command: "fd -e ts" },
  { command: "fd -H .env" },
  { command: "fd -t f test src" },
  { command: "find . -name '*.ts'" },
  { command: "find src -type f -newer package.json" },
  { command: "find . -name '*.md' -exec grep -l TODO {} +" },
  { command: "git ls-files | xargs wc -l" },
  { command: "find . -name '*.ts' | xargs grep -n TODO" },
  { command: "timeout 5 npm test" },
  { command: "timeout 10 make test" },
  { command: "watch -n 5 'git status'" },
  { command: "env A=1 npm test" },
  { command: "python3 -c 'print(1+1)'" },
  { command: `python3 -c 'import json; print(json.dumps({"a": 1}))'` },
  { command: "python3 -c 'import os; print(os.getcwd())'" },
  { command: "node -e 'console.log(process.version)'" },
  { command: `node -e 'console.log(require("./package.json").name)'` },
  { command: `perl -ne 'print if /TODO/' src/a.ts` },
  { command: "perl -pi -e 's/foo/bar/' src/a.ts" },
  { command: "ruby -e 'puts 1+1'" },
  { command: "awk '{print $1}' README.md" },
  { command: "awk -F, 'NR>1{s+=$2} END{print s}' data.csv" },
  { command: `awk 'BEGIN{print "system"}'` },
  { command: "sed -n '1,5p' README.md" },
  { command: "sed -e '1d' README.md" },
  { command: "sed -n '/^e/p' README.md" },
  { command: "sed -i 's/foo/bar/g' src/a.ts" },
  { command: "psql -h localhost -c 'select 1'" },
  { command: "psql -h localhost -d app -c 'select count(*) from users'" },
  { command: "psql -h 127.0.0.1 -U app -c '\\dt'" },
  { command: "sqlite3 app.db 'select count(*) from t'" },
  { command: "sqlite3 app.db .tables" },
  { command: "sqlite3 app.db '.schema users'" },
  { command: "zip -r out.zip src" },
  { command: "trap 'rm -f /tmp/x.lock' EXIT", head: "builtin" },
  { command: "NODE_OPTIONS=--max-old-space-size=4096 npm run build", head: "assignment" },
];

export const harmlessForm: fc.Arbitrary<Shape> = fc
  .constantFrom(...HARMLESS_FORMS)
  .map((f) => shape(f.command, "local: the program in a harmless form (policy 'Local')", { head: f.head ?? "program" }));

/** Class 2, local side: harmless forms of the same programs. */
export const class2Lookalike: fc.Arbitrary<Case> = wrapped(harmlessForm, "local");

/** Pager values the policy keeps local (R22: `core.pager='less -R'` is local). */
export const HARMLESS_PAGERS: readonly string[] = ["cat", "less -R", "less -FRX", "more"];

function harmlessFor(surface: Surface): fc.Arbitrary<Payload> {
  switch (surface.takes) {
    case "pager":
      return fc.constantFrom(...HARMLESS_PAGERS.map((line) => ({ line, why: "R22: a local pager" })));
    case "plain":
      return harmlessPlainPayload;
    case "language":
      return fc.constantFrom(...HARMLESS_PAYLOADS.filter(fitsLanguageString));
    default:
      return fc.constantFrom(...HARMLESS_PAYLOADS.filter((p) => surface.takes !== "argv" || isPlain(p)));
  }
}

/** Inline code of Python, Node, Perl and Ruby whose process call runs a visible literal command. */
const isGeneralPurposeLanguage = (x: Surface) => x.takes === "language" && !x.name.startsWith("awk");

/** Surfaces (among `surfaces`) whose visible value is analysed, each with a harmless value. */
export function surfacesWithHarmlessValue(surfaces: readonly Surface[]): fc.Arbitrary<Shape> {
  return fc.constantFrom(...surfaces.filter((x) => x.harmless === "local")).chain((surface) =>
    harmlessFor(surface).map((p) =>
      shape(
        surface.make(fit(surface, p)),
        `clause 8/R22: the visible value of ${surface.name} (\`${p.line}\`) is analysed as a command: ${p.why}`,
        {
          head: surface.head,
        },
      ),
    ),
  );
}

/**
 * Options, pagers, editors, config keys, exec wrappers, `env -S`, awk `system()` and sed `e` with a
 * harmless visible value: local (clause 8 "analysed as a command when it is visible", R22).
 */
export const surfaceWithHarmlessValue: fc.Arbitrary<Shape> = surfacesWithHarmlessValue(
  ALL_SURFACES.filter((x) => !isGeneralPurposeLanguage(x)),
);

/** Class 2, local side: exec surfaces whose visible value is harmless. */
export const class2HarmlessValue: fc.Arbitrary<Case> = wrapped(surfaceWithHarmlessValue, "local");

/**
 * `python3 -c`/`node -e`/`perl -e`/`ruby -e` whose process call runs a harmless literal command:
 * local on the reading that the rule's "visible inline code of other languages (python -c, node -e,
 * perl -e, awk system(), sed e)" is a part analysed like awk `system()`. Kept apart from
 * {@link class2HarmlessValue} because a detector may read it as clause 8 instead.
 */
export const class2HarmlessInlineCode: fc.Arbitrary<Case> = wrapped(
  surfacesWithHarmlessValue(ALL_SURFACES.filter(isGeneralPurposeLanguage)),
  "local",
);
