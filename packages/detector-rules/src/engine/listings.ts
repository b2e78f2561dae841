// What a pipeline's first stages list, for the stage that reads it: downloads, decoders, literal
// text, and where the paths they print point (`find src -name x | xargs rm`), down to "every entry
// of the project" for an unfiltered listing (`ls | xargs rm -rf`).
import type { CommandNode, SyntaxNode, Word } from "unbash";
import { forEachChild } from "unbash";
import type { Analyzer } from "./analyzer.js";
import type { Producers } from "./invocation.js";
import { classifyArg, PATH_RANK, type PathClass } from "./paths.js";
import { basename } from "./paths-util.js";
import type { Scope } from "./scope.js";
import { type Arg, evaluate, syntheticArg } from "./words.js";

/** Programs whose output on a pipe is network data. */
export const DOWNLOADERS = new Set([
  "curl",
  "wget",
  "fetch",
  "http",
  "https",
  "xh",
  "aria2c",
  "lwp-download",
  "lwp-request",
  "GET",
  "POST",
  "nc",
  "ncat",
  "netcat",
  "socat",
  "ssh",
  "scp",
  "sftp",
  "telnet",
  "gsutil",
  "aws",
  "gcloud",
  "az",
  "gh",
  "glab",
  "httpie",
  "iwr",
  "invoke-webrequest",
  "rclone",
  "s3cmd",
  "mc",
  "ftp",
  "tftp",
  "links",
  "lynx",
  "w3m",
  "elinks",
  "axel",
  "dig",
]);

/** Programs whose output is decoded or decompressed input: hidden text. */
export const DECODERS = new Set([
  "base64",
  "base32",
  "basenc",
  "xxd",
  "openssl",
  "gunzip",
  "zcat",
  "gzip",
  "bzcat",
  "bunzip2",
  "xzcat",
  "unxz",
  "zstdcat",
  "uudecode",
  "rev",
  "tr",
  "od",
  "printf",
  "echo",
]);

/** Pipeline stages that pass every line on (a listing through them is still the whole listing). */
const PASS_THROUGH = new Set(["sort", "uniq", "cat", "tac", "tee", "xargs"]);

/** What the stages before a pipe produce. */
export function producers(engine: Analyzer, stages: readonly CommandNode[], scope: Scope): Producers {
  let paths: PathClass | undefined;
  const listed = () => {
    paths ??= listedPaths(engine, stages[0], scope);
    // A filter between the listing and its reader (`ls | grep x | xargs rm`) makes it targeted.
    if (paths === "inside-all" && stages.slice(1).some((s) => s.type !== "Command" || !PASS_THROUGH.has(basename(s.name?.value ?? ""))))
      paths = "inside";
    return paths;
  };
  const out: Producers = {
    download: false,
    decodes: false,
    programs: [],
    text: undefined,
    get paths() {
      return listed();
    },
  };
  const visit = (n: SyntaxNode) => {
    engine.budget.step();
    if (n.type === "Command" && n.name) {
      const name = basename(n.name.value);
      out.programs.push(name);
      if (DOWNLOADERS.has(name)) out.download = true;
      if (DECODERS.has(name) && n.suffix.some((s) => s.type === "Word" && /^-[a-zA-Z]*[dDr]|^--decode|^enc$|^-base64$/.test(s.value)))
        out.decodes = true;
      if (
        DOWNLOADERS.has(name) === false &&
        /^python[0-9.]*$|^node$|^perl$|^ruby$/.test(name) &&
        n.suffix.some((s) => s.type === "Word" && /urllib|requests|http|fetch|LWP|open-uri|Net::HTTP/.test(s.value))
      )
        out.download = true;
    }
    forEachChild(n, visit);
  };
  for (const s of stages) visit(s);
  const last = stages[stages.length - 1];
  if (stages.length === 1 && last?.type === "Command" && last.name && (last.name.value === "echo" || last.name.value === "printf")) {
    const words = last.suffix.filter((s): s is Word => s.type === "Word");
    if (words.every((w) => evaluate(w, undefined).literal || !w.parts)) {
      const values = words.map((w) => w.value);
      if (last.name.value === "echo" && !values.some((v) => /^-[a-zA-Z]*e/.test(v) || v.includes("\\")))
        out.text = values.filter((v) => !/^-[neE]+$/.test(v)).join(" ");
      if (last.name.value === "printf" && values.length >= 2 && /^%s(\\n|\s)$/.test(values[0] as string))
        out.text = values.slice(1).join("\n");
    }
  }
  return out;
}

/** A word that is the output of an unfiltered listing of the project (`$(git ls-files)`, `$(ls)`). */
export function listsEverything(engine: Analyzer, arg: Arg, scope: Scope): boolean {
  return arg.substitutions.some((script) => {
    const c = script.commands.length === 1 ? script.commands[0]?.command : undefined;
    const stages = c?.type === "Pipeline" ? c.commands : c ? [c] : [];
    return stages.length > 0 && producers(engine, stages as readonly CommandNode[], scope).paths === "inside-all";
  });
}

/**
 * Where the paths a pipeline's first stage lists point (`find src -name x | xargs rm`);
 * `inside-all` when the listing is unfiltered at the project root (`ls`, `find . -type f`,
 * `git ls-files`, `git diff --name-only`): it may be every entry of the working tree.
 */
function listedPaths(engine: Analyzer, stage: CommandNode | undefined, scope: Scope): PathClass {
  if (stage?.type !== "Command" || !stage.name) return "unknown";
  const name = basename(stage.name.value);
  const words = stage.suffix.filter((s): s is Word => s.type === "Word").map((w) => evaluate(w, scope));
  const roots = (list: Arg[], filtered: boolean) => {
    const paths = list.length === 0 ? [syntheticArg(".")] : list;
    let worst: PathClass = "null";
    for (const p of paths) {
      const cls = !filtered && engine.isProjectRoot(p, scope) ? "inside-all" : classifyArg(p, scope, engine.project);
      if (PATH_RANK[cls] > PATH_RANK[worst]) worst = cls;
    }
    return worst === "null" ? "inside" : worst;
  };
  if (name === "find") {
    const split = words.findIndex((w) => w.value === undefined || w.value.startsWith("-") || w.value === "(" || w.value === "!");
    const expression = words.slice(split < 0 ? words.length : split).map((w) => w.value ?? "");
    // Tests that select some files; `-path ./.git -prune` and `-type` do not.
    const pruned = expression.filter(
      (w, i) => !(expression[i + 1] === "-prune" || (expression[i + 2] === "-prune" && /^-(i?path|i?name)$/.test(w))),
    );
    const filtered = pruned.some((w) =>
      /^-(i?name|i?path|i?wholename|i?regex|newer\w*|[amc](time|min)|size|empty|perm|user|group|nouser|nogroup|links|inum|samefile|i?lname|readable|writable|executable|used)$/.test(
        w,
      ),
    );
    return roots(words.slice(0, split < 0 ? words.length : split), filtered);
  }
  if (name === "fd" || name === "fdfind" || name === "ls" || name === "rg" || name === "grep") {
    if (name === "grep" || name === "rg") {
      const positional = words.filter((w) => w.value !== undefined && !w.value.startsWith("-"));
      const files = name === "rg" && words.some((w) => w.value === "--files");
      return roots(files ? positional : positional.slice(1), !files || words.some((w) => /^(-g|--glob|-t|--type)/.test(w.value ?? "")));
    }
    const positional = words.filter((w) => w.value === undefined || !w.value.startsWith("-"));
    if (name === "ls") return roots(positional, positional.length > 0 && !positional.every((p) => engine.isProjectRoot(p, scope)));
    // fd PATTERN [PATH…]: an empty or match-all pattern lists everything.
    const pattern = positional[0]?.value;
    const all = positional.length === 0 || pattern === "" || pattern === "." || pattern === "^";
    const filteredFd = !all || words.some((w) => /^(-e|--extension|-g|--glob)/.test(w.value ?? ""));
    return roots(positional.slice(1), filteredFd);
  }
  if (name === "git") {
    const verb = words.find((w) => w.value === "ls-files" || w.value === "diff" || w.value === "status");
    if (!verb) return "unknown";
    // Without a pathspec after the verb, every tracked, modified or untracked file.
    const after = words.slice(words.indexOf(verb) + 1);
    const pathspec = after.some(
      (w) => w.value === undefined || (!w.value.startsWith("-") && !/^(HEAD|@)([~^]\d*)*$|^[0-9a-f]{7,40}$/.test(w.value)),
    );
    return pathspec ? "inside" : "inside-all";
  }
  if ((name === "echo" || name === "printf") && words.length > 0 && words.every((w) => w.value !== undefined)) {
    const items =
      name === "printf" && /^%s(\\n|\\0|\s)$/.test(words[0]?.value ?? "")
        ? words.slice(1)
        : name === "echo"
          ? words.filter((w) => !/^-[neE]+$/.test(w.value ?? ""))
          : [];
    if (items.length === 0) return "unknown";
    const paths = items.flatMap((w) =>
      (w.value as string)
        .split(/\s+/)
        .filter(Boolean)
        .map((p) => syntheticArg(p)),
    );
    return roots(paths, false);
  }
  return "unknown";
}
