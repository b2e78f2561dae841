// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are shell text, where ${…} is parameter expansion.
/**
 * Class 1: obfuscated and dynamic decisive words.
 *
 * Risky side. Clause 8 sends to the sandbox "a command name that is not a literal: from a variable
 * or substitution, with glob, brace or $IFS tricks, ANSI-C quoting, invisible or non-ASCII
 * characters", "a decisive word that is not a literal: a subcommand", "obfuscated spellings of risky
 * commands: quotes or backslashes inside the name, odd case" and (R19) quotes or a backslash in the
 * name of any command that can do anything risky. The generators apply these spellings to the
 * command name or the subcommand of commands that are sandbox already when spelled plainly (clauses
 * 1–7), so the label does not depend on whether a detector resolves the spelling: resolved, it is the
 * risky command; unresolved, it is clause 8. Spellings that clause 8 names unconditionally
 * (substitution, unset variable, ANSI-C, glob, brace, $IFS, invisible and non-ASCII characters in
 * a command name) are also applied to harmless commands.
 *
 * Look-alike side. The same tools with literal read-only verbs (the policy's "Local" list) and the
 * same tricks used only for data (variables, substitutions, ANSI-C strings, braces, globs and
 * non-ASCII text as arguments of reading or printing commands; "Decoys").
 */
import fc from "fast-check";
import { type Case, type Shape, shape, wrapped } from "./common.js";

/** A command as words, with the position of its decisive subcommand if it has one. */
export interface Verb {
  readonly words: readonly string[];
  /** Index of the subcommand word (`install` in `npm install x`), or null for `rm -rf ~`. */
  readonly sub: number | null;
  readonly why: string;
}

const v = (line: string, sub: number | null, why: string): Verb => ({ words: line.split(" "), sub, why });

/** Commands of many tools that the policy sends to the sandbox when spelled plainly. */
export const RISKY_VERBS: readonly Verb[] = [
  v("rm -rf ~", null, "clause 5: rm -rf ~"),
  v("npm install left-pad", 1, "clause 1: npm install"),
  v("pip install requests", 1, "clause 1: pip install"),
  v("pip3 install x", 1, "clause 1: pip install"),
  v("npm i left-pad", 1, "clause 1: npm i"),
  v("npm ci", 1, "clause 1: npm ci"),
  v("npm update", 1, "clause 1: npm update"),
  v("npm link", 1, "clause 1: npm link"),
  v("npm publish", 1, "clause 2: publishing a package"),
  v("yarn add lodash", 1, "clause 1: yarn add"),
  v("pnpm add lodash", 1, "clause 1: pnpm add"),
  v("bun add lodash", 1, "clause 1: bun add"),
  v("pip uninstall -y requests", 1, "clause 1: pip uninstall"),
  v("apt-get install -y curl", 1, "clause 1: apt-get install"),
  v("apt-get update", 1, "clause 1: apt-get update"),
  v("apt install -y jq", 1, "clause 1: apt install"),
  v("brew install jq", 1, "clause 1: brew install"),
  v("brew upgrade", 1, "clause 1: brew upgrade"),
  v("cargo install ripgrep", 1, "clause 1: cargo install"),
  v("cargo add serde", 1, "clause 1: cargo add"),
  v("gem install rails", 1, "clause 1: gem install"),
  v("go get example.com/x", 1, "clause 1: go get"),
  v("conda install numpy", 1, "clause 1: conda install"),
  v("composer require acme/x", 1, "clause 1: composer require"),
  v("poetry add httpx", 1, "clause 1: poetry add"),
  v("docker run --rm alpine id", 1, "clause 2: docker run"),
  v("docker pull alpine", 1, "clause 2: docker pull"),
  v("docker rm -f web", 1, "clause 2: docker rm"),
  v("docker build -t app .", 1, "clause 2: docker build"),
  v("kubectl apply -f deploy.yaml", 1, "clause 2: kubectl apply"),
  v("kubectl delete pod web", 1, "clause 2: kubectl delete"),
  v("helm install web ./chart", 1, "clause 2: helm install"),
  v("terraform apply -auto-approve", 1, "clause 2: terraform apply"),
  v("git push", 1, "clause 2: git push"),
  v("git push origin main", 1, "clause 2: git push"),
  v("git push --force", 1, "clause 2: git push"),
  v("git reset --hard", 1, "clause 6: git reset --hard"),
  v("git clean -fdx", 1, "clause 6: git clean -f"),
  v("git stash clear", 1, "clause 6: git stash clear"),
  v("gh pr create --fill", 1, "clause 2: opening a pull request"),
  v("systemctl restart nginx", 1, "clause 2: services"),
  v("rm -rf /", null, "clause 5: rm -rf /"),
  v("rm -rf ~/.config", null, "clause 5: deletion below ~"),
  v("rm -rf ..", null, "clause 5: deletion of the parent directory"),
  v("chown root:root app", null, "clause 3: chown"),
  v("shred -u ~/.ssh/id_rsa", null, "clause 5: shred"),
  v("kill -9 1", null, "clause 2: kill"),
  v("pkill node", null, "clause 2: pkill"),
  v("crontab -r", null, "clause 2: scheduled jobs"),
];

/** Harmless commands: a non-literal *name* is clause 8 whatever the command. */
export const HARMLESS_VERBS: readonly Verb[] = [
  v("ls -la", null, "local when literal"),
  v("cat README.md", null, "local when literal"),
  v("echo hi", null, "local when literal"),
  v("pwd", null, "local when literal"),
  v("git status", 1, "local when literal"),
  v("npm ls", 1, "local when literal"),
  v("pip list", 1, "local when literal"),
];

/** A spelling of one word: statements to run first and the word to put in its place. */
export interface Spelling {
  readonly before: string;
  readonly word: string;
  readonly technique: string;
}

/** Spelling techniques that turn a word into something that is not a literal word. */
export type Technique =
  | "assigned-variable"
  | "unset-variable"
  | "substitution"
  | "default-expansion"
  | "ansi-c"
  | "quotes"
  | "backslash"
  | "invisible"
  | "homoglyph"
  | "odd-case"
  | "glob";

/** Techniques that clause 8 names for command names without condition on what the command is. */
export const UNCONDITIONAL_NAME_TECHNIQUES: readonly Technique[] = [
  "unset-variable",
  "substitution",
  "default-expansion",
  "ansi-c",
  "invisible",
  "homoglyph",
  "glob",
];
export const ALL_TECHNIQUES: readonly Technique[] = [
  ...UNCONDITIONAL_NAME_TECHNIQUES,
  "assigned-variable",
  "quotes",
  "backslash",
  "odd-case",
];

const INVISIBLES = ["\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF", "\u00AD"] as const;
const HOMOGLYPHS: Readonly<Record<string, string>> = {
  a: "\u0430",
  e: "\u0435",
  o: "\u043E",
  p: "\u0440",
  c: "\u0441",
  x: "\u0445",
  i: "\u0456",
  s: "\u0455",
  y: "\u0443",
};
const VAR_NAMES = ["v", "c", "X", "CMD", "tool"] as const;

const hex = (ch: string) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`;
const oct = (ch: string) => `\\${ch.charCodeAt(0).toString(8).padStart(3, "0")}`;

/**
 * All spellings of `w` by `technique`, indexed by `pick` (taken modulo their count), so one integer
 * chooses the variant and shrinking moves towards the first, simplest one.
 */
export function spell(w: string, technique: Technique, pick: number, varName: string): Spelling {
  const k = 1 + (pick % Math.max(1, w.length - 1)); // an interior position, 1..len-1
  const a = w.slice(0, k);
  const b = w.slice(k);
  const upper = varName.toUpperCase();
  const variants = ((): Array<Omit<Spelling, "technique">> => {
    switch (technique) {
      case "assigned-variable":
        return [
          { before: `${varName}=${w}; `, word: `$${varName}` },
          { before: `${varName}=${w}; `, word: `"$${varName}"` },
          { before: `${varName}=${w} && `, word: `\${${varName}}` },
          { before: `export ${upper}=${w}; `, word: `$${upper}` },
          { before: `read -r ${varName} <<< ${w}; `, word: `$${varName}` },
          { before: `printf -v ${varName} %s ${w}; `, word: `"$${varName}"` },
          { before: `declare ${upper}=${w}; `, word: `$${upper}` },
        ];
      case "unset-variable":
        return [
          { before: "", word: `$${upper}` },
          { before: "", word: `"$${upper}"` },
          { before: "", word: `\${${upper}}` },
        ];
      case "substitution":
        return [
          { before: "", word: `$(echo ${w})` },
          { before: "", word: `\`echo ${w}\`` },
          { before: "", word: `"$(printf %s ${w})"` },
          { before: "", word: `"$(printf ${a}%s ${b})"` },
          { before: "", word: `$(printf '%s%s' ${a} ${b})` },
          { before: "", word: `$(tr A-Z a-z <<< ${w.toUpperCase()})` },
          { before: "", word: `$(rev <<< ${[...w].reverse().join("")})` },
        ];
      case "default-expansion":
        return [
          { before: "", word: `\${${upper}:-${w}}` },
          { before: "", word: `\${${upper}-${w}}` },
          { before: "", word: `\${${upper}:=${w}}` },
        ];
      case "ansi-c":
        return [
          { before: "", word: `$'${[...w].map(hex).join("")}'` },
          { before: "", word: `$'${hex(w[0]!)}'${w.slice(1)}` },
          { before: "", word: `$'${oct(w[0]!)}'${w.slice(1)}` },
          ...(b.length > 0 ? [{ before: "", word: `${a}$'${hex(b[0]!)}'${b.slice(1)}` }] : []),
        ];
      case "quotes":
        return [
          { before: "", word: `${a}''${b}` },
          { before: "", word: `${a}""${b}` },
          { before: "", word: `'${w}'` },
          { before: "", word: `"${w}"` },
          { before: "", word: `${a}'${b}'` },
        ];
      case "backslash":
        return [{ before: "", word: `\\${w}` }, ...(/[a-z]/.test(b[0] ?? "") ? [{ before: "", word: `${a}\\${b}` }] : [])];
      case "invisible":
        return INVISIBLES.map((z) => ({ before: "", word: `${a}${z}${b}` }));
      case "homoglyph": {
        const out: Array<Omit<Spelling, "technique">> = [];
        [...w].forEach((ch, i) => {
          const h = HOMOGLYPHS[ch];
          if (h !== undefined) out.push({ before: "", word: w.slice(0, i) + h + w.slice(i + 1) });
        });
        // No Latin letter with a Cyrillic twin: fall back to a zero-width space.
        return out.length > 0 ? out : [{ before: "", word: `${a}\u200B${b}` }];
      }
      case "odd-case":
        return [
          { before: "", word: w.toUpperCase() },
          { before: "", word: w[0]!.toUpperCase() + w.slice(1) },
        ];
      case "glob":
        return [
          { before: "", word: `${w.slice(0, -1)}?` },
          { before: "", word: `[${w[0]}]${w.slice(1)}` },
          { before: "", word: `${w[0]}*${w.slice(-1)}` },
          { before: "", word: `/usr/bin/${w.slice(0, -1)}?` },
          { before: "", word: `/bin/${w.slice(0, -1)}[${w.slice(-1)}]` },
        ];
    }
  })();
  const chosen = variants[pick % variants.length]!;
  return { ...chosen, technique };
}

/** Word separators that change how the line splits. */
export type Join = "space" | "ifs" | "nbsp" | "brace";

/** Rebuilds a verb with word `target` spelled by `sp` and the words after it joined by `join`. */
function rebuild(verb: Verb, target: number, sp: Spelling | null, join: Join): { before: string; core: string; technique: string } {
  const words = [...verb.words];
  if (sp !== null) words[target] = sp.word;
  const next = words[target + 1];
  const techniques = sp === null ? [] : [sp.technique];
  let core: string;
  if (join === "ifs" && next !== undefined && !next.startsWith("~")) {
    // `rm${IFS}-rf ~`, `pip3 install${IFS}x`: the word and the next one only split at run time.
    core = [...words.slice(0, target), `${words[target]}\${IFS}${next}`, ...words.slice(target + 2)].join(" ");
    techniques.push("${IFS}");
  } else if (join === "nbsp" && next !== undefined) {
    core = [...words.slice(0, target), `${words[target]}\u00A0${next}`, ...words.slice(target + 2)].join(" ");
    techniques.push("NBSP");
  } else if (
    join === "brace" &&
    sp === null &&
    words.slice(target).every((w) => /^[A-Za-z0-9_./~:@=-]+$/.test(w)) &&
    words.length - target >= 2
  ) {
    // `{rm,-rf,~}`, `npm {install,left-pad}`: brace expansion produces the words.
    core = [...words.slice(0, target), `{${words.slice(target).join(",")}}`].join(" ");
    techniques.push("brace");
  } else {
    core = words.join(" ");
  }
  return { before: sp?.before ?? "", core, technique: techniques.join(" + ") || "none" };
}

export interface SpelledOptions {
  readonly verbs: readonly Verb[];
  readonly techniques: readonly Technique[];
  /** Whether the subcommand (not only the name) may be the spelled word. */
  readonly subcommands: boolean;
}

/**
 * Verbs with their name (or subcommand) spelled by one technique, optionally with `${IFS}`, NBSP
 * or brace expansion splitting it from the next word. Every result spells at least one word in a
 * non-literal way.
 */
export function spelledVerbs(options: SpelledOptions): fc.Arbitrary<Shape> {
  return fc
    .record({
      verb: fc.constantFrom(...options.verbs),
      onSub: options.subcommands ? fc.boolean() : fc.constant(false),
      technique: fc.option(fc.constantFrom(...options.techniques), { nil: null, freq: 8 }),
      join: fc.constantFrom<Join>("space", "ifs", "nbsp", "brace"),
      pick: fc.nat(20),
      varName: fc.constantFrom(...VAR_NAMES),
    })
    .map(({ verb, onSub, technique, join, pick, varName }) => {
      const target = onSub && verb.sub !== null ? verb.sub : 0;
      const sp = technique === null ? null : spell(verb.words[target]!, technique, pick, varName);
      const effectiveJoin: Join = technique === null && join === "space" ? "ifs" : join;
      let r = rebuild(verb, target, sp, effectiveJoin);
      if (r.technique === "none") r = rebuild(verb, target, spell(verb.words[target]!, "substitution", pick, varName), "space");
      const where = target === 0 ? "command name" : "subcommand";
      return shape(r.core, `clause 8: ${where} spelled with ${r.technique}; plainly it is ${verb.why}`, { before: r.before });
    });
}

/** Risky verbs with the name or subcommand spelled by any technique. */
export const obfuscatedRiskyVerb: fc.Arbitrary<Shape> = spelledVerbs({ verbs: RISKY_VERBS, techniques: ALL_TECHNIQUES, subcommands: true });

/** Any command (harmless ones too) whose *name* is spelled by a technique clause 8 names unconditionally. */
export const nonLiteralName: fc.Arbitrary<Shape> = spelledVerbs({
  verbs: [...HARMLESS_VERBS, ...RISKY_VERBS],
  techniques: UNCONDITIONAL_NAME_TECHNIQUES,
  subcommands: false,
});

/**
 * R19: quotes or a backslash inside the name of a command that can do anything risky is clause 8
 * even when the rest would be local (`\rm -rf node_modules`).
 */
export const quotedRiskyCapableName: fc.Arbitrary<Shape> = fc
  .record({
    cmd: fc.constantFrom(
      "rm -rf node_modules",
      "rm -f build/out.o",
      "npm ls",
      "pip list",
      "git status",
      "docker ps",
      "curl -s https://example.org",
      "find . -name '*.ts'",
      "sed -n 1p README.md",
      "tar -tf a.tar",
      "python3 app.py",
    ),
    technique: fc.constantFrom<Technique>("quotes", "backslash"),
    pick: fc.nat(10),
  })
  .map(({ cmd, technique, pick }) => {
    const [name, ...rest] = cmd.split(" ");
    const sp = spell(name!, technique, pick, "v");
    return shape([sp.word, ...rest].join(" "), `R19: ${technique} inside the name of \`${name}\`, which can do risky things`);
  });

/**
 * Clause 8: "a word that could be an option of a program whose options can run programs or write
 * files" that is not a literal.
 */
export const nonLiteralOptionWord: fc.Arbitrary<Shape> = fc
  .record({
    program: fc.constantFrom(
      (w: string) => `sort ${w} data.txt`,
      (w: string) => `find . ${w}`,
      (w: string) => `tar ${w} -xf a.tar`,
      (w: string) => `git ${w} log`,
      (w: string) => `rsync ${w} src/ dst/`,
      (w: string) => `less ${w} README.md`,
      (w: string) => `man ${w} ls`,
      (w: string) => `zip ${w} x.zip README.md`,
      (w: string) => `sed ${w} README.md`,
      (w: string) => `awk ${w} README.md`,
      (w: string) => `vim ${w} README.md`,
    ),
    word: fc.constantFrom('"$OPT"', "$OPTS", '"$(cat opts.txt)"', "${FLAGS:-}", "`cat flags`"),
  })
  .map(({ program, word }) =>
    shape(program(word), `clause 8: non-literal word ${word} where an option of an exec-capable program could be`),
  );

/** Class 1, sandbox side: every shape above, wrapped. */
export const class1Risky: fc.Arbitrary<Case> = wrapped(
  fc.oneof({ arbitrary: obfuscatedRiskyVerb, weight: 4 }, nonLiteralName, quotedRiskyCapableName, nonLiteralOptionWord),
  "sandbox",
);

// ---------------------------------------------------------------------------------------------
// Look-alikes.
// ---------------------------------------------------------------------------------------------

/** The same tools with literal read-only (or project-running) verbs: the policy's "Local" list. */
export const READ_ONLY_VERBS: readonly string[] = [
  "npm ls",
  "npm ls --depth=0",
  "npm view react version",
  "npm audit",
  "npm test",
  "npm run build",
  "npm install --dry-run",
  "pip list",
  "pip show requests",
  "pip freeze",
  "pip3 list",
  "apt list --installed",
  "apt search jq",
  "apt-get -s install curl",
  "dpkg -l",
  "brew list",
  "brew info jq",
  "cargo search serde",
  "cargo tree",
  "cargo build",
  "cargo test",
  "cargo install --list",
  "gem list",
  "conda list",
  "go test ./...",
  "git status",
  "git log --oneline -5",
  "git diff",
  "git branch",
  "git show HEAD",
  "git fetch",
  "git add .",
  "git commit -m wip",
  "git stash",
  "git reset --soft HEAD~1",
  "git checkout -b feature",
  "docker ps",
  "docker ps -a",
  "docker logs web",
  "kubectl get pods",
  "kubectl describe pod web",
  "kubectl logs web",
  "kubectl rollout status deploy/web",
  "helm template web ./chart",
  "terraform plan",
  "gh pr view 1",
  "make",
  "make test",
  "rm -rf node_modules",
];

/** Literal read-only verbs of the same tools. */
export const literalReadOnlyVerb: fc.Arbitrary<Shape> = fc
  .constantFrom(...READ_ONLY_VERBS)
  .map((c) => shape(c, "local: literal read-only, project-running or targeted verb"));

/** Variables, substitutions and other tricks used only as data of reading or printing commands. */
export const DATA_ONLY: ReadonlyArray<{ readonly command: string; readonly before?: string; readonly head?: "builtin" }> = [
  { before: "v=install; ", command: 'echo "$v"' },
  { before: "v=install; ", command: 'echo "npm $v left-pad"' },
  { before: "c=rm; ", command: 'echo "$c -rf ~"' },
  { before: "PATTERN=TODO; ", command: 'grep -rn "$PATTERN" src/' },
  { command: 'grep "$PATTERN" src/' },
  { command: 'grep -rn -- "$X" src/' },
  { command: "echo \"$(printf 'in%s' stall)\"" },
  { command: "echo '$(echo npm) i left-pad'" },
  { command: "echo 'rm -rf /'" },
  { command: "grep -rn 'pip install' docs/" },
  { command: 'echo "$HOME"' },
  { command: "printf '%s\\n' \"$PATH\"" },
  { command: 'echo "${NAME:-world}"' },
  { command: "echo $'\\x72m -rf ~'" },
  { command: "printf '%s\\n' $'a\\tb'" },
  { command: "echo {1..5}" },
  { command: "mkdir -p src/{a,b,c}" },
  { command: "touch {a,b}.txt" },
  { command: "ls src/*.ts" },
  { command: "wc -l ./*.md" },
  { command: "echo 'h\u00E9llo w\u00F6rld'" },
  { command: "grep -rn 'caf\u00E9' src/" },
  { command: "echo 'zero\u200Bwidth'" },
  { command: "printf '%s' \"$IFS\" | od -c" },
  { before: "x=$(git rev-parse HEAD); ", command: 'echo "$x"' },
  { before: "n=$(wc -l < README.md); ", command: 'echo "$n lines"' },
  { before: "for t in npm pip; do ", command: 'echo "$t"' },
  { command: "alias ni='npm install'", head: "builtin" },
  { command: 'cat "$FILE"' },
  { command: 'ls "$DIR"' },
  { command: 'head -n 5 "$F"' },
  { command: 'test -n "$CI"', head: "builtin" },
];

/** Data-only uses of the obfuscation tricks. */
export const dataOnlyTricks: fc.Arbitrary<Shape> = fc.constantFrom(...DATA_ONLY).map((d) =>
  shape(d.command, "local: the trick is data of a reading or printing command (policy 'Decoys'/'Reading')", {
    before: d.before ?? "",
    after: d.before?.startsWith("for ") ? "; done" : "",
    head: d.head ?? "program",
  }),
);

/** A function defined and called on the line, with a read-only body (R23). */
export const harmlessFunction: fc.Arbitrary<Shape> = fc
  .constantFrom("npm ls", "git status", "pip list", "docker ps", "ls -la")
  .map((body) => shape("f", `R23: a function is judged by its body (\`${body}\`)`, { before: `f() { ${body}; }; `, head: "keyword" }));

/** Class 1, local side: literal read-only verbs and data-only tricks, wrapped. */
export const class1Lookalike: fc.Arbitrary<Case> = wrapped(
  fc.oneof({ arbitrary: literalReadOnlyVerb, weight: 3 }, { arbitrary: dataOnlyTricks, weight: 3 }, harmlessFunction),
  "local",
);
