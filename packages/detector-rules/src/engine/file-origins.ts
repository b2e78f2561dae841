// Where the files a line writes came from (provenance.ts judges them when they are run or
// loaded): the output of a redirected `echo`/`printf`/`cat`/download, and edits that insert text.
import type { Analyzer } from "./analyzer.js";
import type { Stdin } from "./invocation.js";
import { DOWNLOADERS } from "./listings.js";
import { classifyArg, resolve } from "./paths.js";
import type { FileOrigin, FileSystemEffects, Scope } from "./scope.js";
import { unescapePrintf } from "./shell-syntax.js";
import type { Arg } from "./words.js";

/** Records the origin of a file a command's output was redirected to. */
export function recordOutput(
  engine: Analyzer,
  target: Arg,
  program: string | undefined,
  args: Arg[],
  stdin: Stdin,
  scope: Scope,
  append: boolean,
): void {
  const abs = resolve(target.value ?? "", scope.dir, scope);
  if (target.value === undefined || abs === undefined || abs.startsWith("~")) return;
  let origin: FileOrigin = { kind: "unknown" };
  const values = args.map((a) => a.value);
  if (program === undefined) origin = { kind: "text", text: "" };
  else if (program === "echo" && values.every((v) => v !== undefined) && !values.some((v) => /^-[a-zA-Z]*e/.test(v as string))) {
    const words = (values as string[]).filter((v, i) => !(i === 0 && /^-[nE]+$/.test(v)));
    origin = { kind: "text", text: words.join(" ") };
  } else if (program === "printf" && values.every((v) => v !== undefined)) {
    const [format, ...more] = values as string[];
    origin = { kind: "text", text: [unescapePrintf(format ?? "").replace(/%s/g, " "), ...more].join("\n") };
  } else if ((program === "cat" || program === "tee") && args.length === 0 && stdin.kind === "text") {
    origin = stdin.literal ? { kind: "text", text: stdin.text } : { kind: "unknown" };
  } else if (program === "cat" && args.length === 0 && stdin.kind === "pipe") {
    origin = stdin.producers.download
      ? { kind: "download" }
      : stdin.producers.text !== undefined
        ? { kind: "text", text: stdin.producers.text }
        : { kind: "unknown" };
  } else if (program === "cat" && args.length > 0) {
    const from = args.map((a) => (a.value !== undefined ? scope.effects.origin(resolve(a.value, scope.dir, scope) ?? "") : undefined));
    const outside = args.some((a) => classifyArg(a, scope, engine.project) === "outside");
    origin = from.some((o) => o?.kind === "download") ? { kind: "download" } : outside ? { kind: "outside" } : { kind: "unknown" };
    if (from.every((o) => o?.kind === "text")) origin = { kind: "text", text: from.map((o) => (o as { text: string }).text).join("\n") };
  } else if (DOWNLOADERS.has(program)) origin = { kind: "download" };
  else if (stdin.kind === "pipe" && stdin.producers.download) origin = { kind: "download" };
  record(engine, scope.effects, abs, origin, append);
}

export function record(engine: Analyzer, effects: FileSystemEffects, abs: string, origin: FileOrigin, append = false): void {
  const files = effects.files;
  const previous = files.get(abs);
  if (origin.kind === "edited" && previous) {
    // An edit of a file the line already wrote: its text gains the inserted parts; a download stays one.
    if (previous.kind === "text") files.set(abs, { ...previous, text: `${previous.text}\n${origin.inserted.join("\n")}` });
    else if (previous.kind === "edited") files.set(abs, { kind: "edited", inserted: [...previous.inserted, ...origin.inserted] });
    else if (previous.kind === "project") files.set(abs, origin);
    engine.judgedFiles.delete(abs);
    return;
  }
  if (append && origin.kind === "text") {
    const text = previous?.kind === "text" ? `${previous.text}\n${origin.text}` : origin.text;
    files.set(abs, { kind: "text", text, append: previous?.kind !== "text" || previous.append === true });
    return;
  }
  files.set(abs, previous?.kind === "download" && append ? previous : origin);
  engine.judgedFiles.delete(abs);
}
