import type { ToolContext } from "../engine/context.js";
import { matchesEverything } from "../engine/glob.js";
import { PATH_RANK, type PathClass } from "../engine/paths.js";
import { syntheticArg } from "../engine/words.js";

const NARROWING = new Set([
  "-empty",
  "-name",
  "-iname",
  "-path",
  "-ipath",
  "-wholename",
  "-iwholename",
  "-regex",
  "-iregex",
  "-lname",
  "-ilname",
]);
const OTHER_FILTERS = new Set([
  "-size",
  "-mtime",
  "-atime",
  "-ctime",
  "-mmin",
  "-amin",
  "-cmin",
  "-newer",
  "-anewer",
  "-cnewer",
  "-user",
  "-group",
  "-perm",
  "-links",
  "-inum",
  "-samefile",
  "-uid",
  "-gid",
  "-used",
  "-newermt",
]);
const WRITES = new Set(["-fprint", "-fprint0", "-fprintf", "-fls"]);
const EXECS = new Set(["-exec", "-execdir", "-ok", "-okdir"]);

/** A `-regex` pattern that matches every path. */
function regexMatchesEverything(p: string): boolean {
  return /^\^?(\.\*|\.\+|\.\*\.\*|\(\.\*\)|\.\*\/\.\*|\.\/\.\*)\$?$/.test(p);
}

/**
 * `find ROOTS EXPRESSION`: `-delete` and `-exec rm …` delete what the expression selects (the
 * whole tree when no filter narrows it, or when a filter matches everything); `-exec`/`-ok` run
 * their command with the found paths; `-fprint` and friends write files.
 */
export function find(ctx: ToolContext): void {
  const args = ctx.inv.args;
  let split = args.findIndex((a, i) => {
    const v = a.value;
    if (v === undefined) return a.prefix === "" || a.prefix.startsWith("-");
    return (v.startsWith("-") && !(i === 0 && /^-(H|L|P|O\d|D)$/.test(v))) || v === "(" || v === "!" || v === ",";
  });
  if (split < 0) split = args.length;
  const leading = args.slice(0, split).filter((a) => !/^-(H|L|P|O\d|D)$/.test(a.value ?? ""));
  const roots = leading.length > 0 ? leading : [syntheticArg(".")];
  const expression = args.slice(split);
  ctx.find("local.read");
  let worst: PathClass = "null";
  for (const r of roots) {
    const cls = ctx.classify(r);
    if (PATH_RANK[cls] > PATH_RANK[worst]) worst = cls;
  }
  const wholeTree = roots.some((r) => ctx.isProjectRoot(r));
  // Whether the expression narrows what is selected: a name/path filter that does not match everything, not negated, in every alternative.
  let narrowed = false;
  let negate = false;
  let alternatives = 1;
  let narrowedAlternatives = 0;
  let thisAlternative = false;
  for (let i = 0; i < expression.length; i++) {
    const v = expression[i]?.value;
    if (v === undefined) {
      ctx.find("exec.dynamic-word", `passes \`${expression[i]?.text}\` to find, which is not a literal`);
      return;
    }
    if (v === "!" || v === "-not") {
      negate = true;
      continue;
    }
    if (v === "-o" || v === "-or") {
      if (thisAlternative) narrowedAlternatives++;
      alternatives++;
      thisAlternative = false;
      continue;
    }
    if (v === "-empty") {
      if (!negate) thisAlternative = true;
    } else if (NARROWING.has(v)) {
      const pattern = expression[i + 1]?.value ?? "";
      const everything = v.includes("regex")
        ? regexMatchesEverything(pattern)
        : matchesEverything(pattern) || pattern === "./*" || pattern === "*/*";
      if (!negate && !everything) thisAlternative = true;
      i++;
    } else if (OTHER_FILTERS.has(v)) {
      i++;
    } else if (
      v === "-type" ||
      v === "-maxdepth" ||
      v === "-mindepth" ||
      v === "-xtype" ||
      v === "-fstype" ||
      v === "-printf" ||
      v === "-prune"
    ) {
      if (v !== "-prune") i++;
    }
    negate = false;
  }
  if (thisAlternative) narrowedAlternatives++;
  narrowed = narrowedAlternatives === alternatives;

  for (let i = 0; i < expression.length; i++) {
    const v = expression[i]?.value as string;
    if (v === "-delete") {
      if (wholeTree && !narrowed && (worst === "inside" || worst === "null")) ctx.find("fs.wipe-project", "deletes the whole working tree");
      else ctx.judge(worst === "null" ? "inside" : worst, "delete", { recursive: true, pattern: true });
      continue;
    }
    if (WRITES.has(v)) {
      const target = expression[i + (v === "-fprintf" ? 1 : 1)];
      if (target) ctx.path(target, "write");
      i += v === "-fprintf" ? 2 : 1;
      continue;
    }
    if (EXECS.has(v)) {
      let end = i + 1;
      while (end < expression.length && expression[end]?.value !== ";" && expression[end]?.value !== "+") end++;
      const command = expression.slice(i + 1, end);
      const name = command[0];
      if (name) {
        if (name.value?.includes("{}")) {
          ctx.find("exec.dynamic-name", "runs the found files as commands (`-exec {}`)");
        } else {
          if (wholeTree && !narrowed && worst === "inside" && /^(rm|unlink|shred|truncate|srm)$/.test(name.value ?? ""))
            ctx.find("fs.wipe-project", "deletes everything find selects in the working tree");
          const found = worst === "inside" || worst === "null" ? "inside" : worst === "tmp" ? "tmp" : "unknown";
          const words = command.map((w, k) =>
            k > 0 && w.value?.includes("{}")
              ? syntheticArg(
                  found === "inside" && /^[\w./@+,=-]*$/.test(w.value.split("{}").join(""))
                    ? w.value.split("{}").join("./found")
                    : undefined,
                  w,
                )
              : w,
          );
          ctx.command(words, { stdin: { kind: "descriptor" }, appended: found });
        }
      }
      i = end;
    }
  }
}

/** `fd [PATTERN] [PATH…] -x CMD…` / `-X CMD…`: everything after the option is the command, run on what fd finds. */
export function fd(ctx: ToolContext): void {
  const args = ctx.inv.args;
  ctx.find("local.read");
  const at = args.findIndex((a) => /^(-x|--exec|-X|--exec-batch)$/.test(a.value ?? ""));
  if (at < 0) return;
  let end = at + 1;
  while (end < args.length && args[end]?.value !== ";") end++;
  const command = args.slice(at + 1, end);
  if (command.length === 0) return;
  // Pattern and roots: the positionals before the command.
  const before = ctx.parsed.positionals.filter((p) => args.indexOf(p) < at);
  const [pattern, ...rootArgs] = before;
  const roots = rootArgs.length > 0 ? rootArgs : [syntheticArg(".")];
  let worst: PathClass = "null";
  for (const r of roots) {
    const cls = ctx.classify(r);
    if (PATH_RANK[cls] > PATH_RANK[worst]) worst = cls;
  }
  const found: PathClass =
    worst === "null" || worst === "inside" ? "inside" : worst === "tmp" ? "tmp" : worst === "outside" ? "outside" : "unknown";
  const narrowedByOption = ctx.parsed.options.some(
    (o) =>
      /^(-e|--extension|-g|--glob|-S|--size|--changed-within|--changed-before|--newer|--older|-p|--full-path)$/.test(o.name) &&
      o.value?.value !== undefined &&
      !/^(\*|\*\*|\.\*)$/.test(o.value.value),
  );
  const everything =
    !narrowedByOption && (!pattern || pattern.value === undefined || /^(\.|\.\*|\^|\$|\^\.\*\$?|\.\+|)$/.test(pattern.value));
  if (everything && roots.some((r) => ctx.isProjectRoot(r)) && /^(rm|unlink|shred|truncate|srm)$/.test(command[0]?.value ?? ""))
    ctx.find("fs.wipe-project", "deletes everything fd finds in the working tree");
  ctx.command(
    command.map((w, k) =>
      k > 0 && w.value !== undefined && /\{[/.\\]*\}|\{\/\/\}|\{\/\.\}/.test(w.value)
        ? syntheticArg(found === "inside" && /^[\w./@+,={}\\-]*$/.test(w.value) ? "./found" : undefined, w)
        : w,
    ),
    { stdin: { kind: "descriptor" }, appended: found },
  );
}
