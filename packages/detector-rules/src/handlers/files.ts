import type { ToolContext } from "../engine/context.js";
import { basename } from "../engine/paths-util.js";
import type { FileOrigin } from "../engine/scope.js";
import { type Arg, syntheticArg } from "../engine/words.js";

/** `rm`, `rmdir`, `unlink`, `shred`, `srm`: deletes its arguments (wholesale wipes and `.git` are clause 6). */
export function rm(ctx: ToolContext): void {
  const { parsed, inv } = ctx;
  const recursive = inv.program === "rmdir" || parsed.has("-r", "-R", "--recursive", "-d", "--dir");
  for (const target of parsed.positionals) ctx.path(target, "delete", { recursive });
  ctx.appendedPaths("delete", { recursive });
}

/**
 * `cp`, `mv`, `install`, `ln`: the destination (last argument or `-t DIR`) is written; `mv` also
 * removes its sources. Where the destination's content comes from is remembered, and a link
 * records where it points, so later commands on the line are judged where they really act.
 */
export function copy(ctx: ToolContext): void {
  const { parsed, inv } = ctx;
  const program = inv.program;
  const targetDir = parsed.value("-t", "--target-directory");
  const positionals = parsed.positionals;
  if (program === "install" && parsed.has("-d", "--directory")) {
    for (const p of positionals) ctx.path(p, "write");
    return;
  }
  let sources: Arg[];
  let dest: Arg | undefined;
  if (targetDir) {
    dest = targetDir;
    sources = positionals;
  } else if (positionals.length >= 2) {
    dest = positionals[positionals.length - 1];
    sources = positionals.slice(0, -1);
  } else if (program === "ln" && positionals.length === 1) {
    dest = syntheticArg(basename(positionals[0]?.value ?? "link"), positionals[0]);
    sources = positionals;
  } else {
    sources = positionals;
    ctx.appendedPaths(program === "mv" ? "delete" : "write", { recursive: true });
    return;
  }
  if (dest) ctx.path(dest, "write");
  if (program === "mv") for (const s of sources) ctx.path(s, "delete", { recursive: true });
  if (!dest) return;
  const destAbs = ctx.resolve(dest);
  if (destAbs === undefined || destAbs.startsWith("~")) return;
  const intoDir = targetDir !== undefined || sources.length > 1 || (dest.value ?? "").endsWith("/");
  for (const s of sources) {
    const name = basename(s.value ?? "x");
    const places = intoDir ? [`${destAbs}/${name}`] : [destAbs, `${destAbs}/${name}`];
    if (program === "ln") {
      // A link points at its target, resolved from the link's directory (symbolic) or as given (hard).
      const symbolic = parsed.has("-s", "--symbolic");
      for (const place of places) {
        const from = symbolic ? place.slice(0, place.lastIndexOf("/")) || "/" : undefined;
        const target = s.value === undefined ? undefined : ctx.resolve(s, from);
        ctx.scope.effects.links.set(place, target);
      }
      continue;
    }
    const origin = originOf(ctx, s);
    for (const place of places) ctx.wrote(syntheticArg(place), origin);
  }
}

/** Where a copy's content comes from: what the line wrote there, a project file, or outside the project. */
function originOf(ctx: ToolContext, source: Arg): FileOrigin {
  const abs = ctx.resolve(source);
  const known = abs !== undefined && !abs.startsWith("~") ? ctx.scope.effects.origin(abs) : undefined;
  if (known) return known;
  const cls = ctx.classify(source);
  return cls === "inside" ? { kind: "project" } : cls === "tmp" || cls === "outside" ? { kind: "outside" } : { kind: "unknown" };
}

const SETUID = /^[0-7]*[2-7][0-7]{3}$|[ugoa]*[+=][rwxXt]*s/;

/** `chmod MODE FILE…`: setuid/setgid bits are clause 3; the files are judged as writes. */
export function chmod(ctx: ToolContext): void {
  const [mode, ...files] = ctx.parsed.positionals;
  const reference = ctx.parsed.value("--reference");
  const targets = reference ? ctx.parsed.positionals : files;
  if (!reference && mode) {
    if (mode.value === undefined) ctx.find("priv.owner-or-setuid", "sets a mode the detector cannot see");
    else if (mode.value.split(",").some((m) => SETUID.test(m))) ctx.find("priv.owner-or-setuid", "sets the setuid or setgid bit");
  }
  const recursive = ctx.parsed.has("-R", "--recursive");
  const executable =
    !reference && mode?.value !== undefined && (/^[0-7]*[1357][0-7]{0,2}$/.test(mode.value) || /[+=][rwXst]*x/.test(mode.value));
  for (const f of targets) {
    ctx.path(f, "write", { recursive });
    const abs = executable ? ctx.resolve(f) : undefined;
    if (abs !== undefined && !abs.startsWith("~")) ctx.scope.effects.executables.add(abs);
  }
  ctx.appendedPaths("write");
}

/** `dd if=… of=…`: the output file is written (a device is clause 5). */
export function dd(ctx: ToolContext): void {
  for (const a of ctx.inv.args) {
    if (a.value?.startsWith("of=")) ctx.path(syntheticArg(a.value.slice(3), a), "write");
    else if (a.value === undefined && a.prefix.startsWith("of=")) ctx.path(syntheticArg(undefined, a), "write");
  }
}

/** `tee FILE…`: writes its input to the files; what the input is becomes their content. */
export function tee(ctx: ToolContext): void {
  const { inv, parsed } = ctx;
  const append = parsed.has("-a", "--append");
  const origin: FileOrigin =
    inv.stdin.kind === "pipe"
      ? inv.stdin.producers.download
        ? { kind: "download" }
        : inv.stdin.producers.text !== undefined
          ? { kind: "text", text: inv.stdin.producers.text, append }
          : { kind: "unknown" }
      : inv.stdin.kind === "text" && inv.stdin.literal
        ? { kind: "text", text: inv.stdin.text, append }
        : { kind: "unknown" };
  for (const f of parsed.positionals) ctx.wrote(f, origin);
}

/** `gzip`, `xz`, `bzip2`, `zstd` …: compress or decompress their files in place, unless writing to stdout or only testing. */
export function compress(ctx: ToolContext): void {
  const { parsed } = ctx;
  if (parsed.has("-c", "--stdout", "--to-stdout", "-t", "--test", "-l", "--list")) return;
  for (const f of parsed.positionals) ctx.path(f, "write");
}

/**
 * `tar`: extraction writes into `-C DIR` (or the current directory; with `-P` anywhere), creation
 * writes the archive; options that run programs are judged by what they run. What an extracted
 * download contains is download.
 */
export function tar(ctx: ToolContext): void {
  const { parsed, inv } = ctx;
  const first = inv.args[0]?.value ?? "";
  // Old-style first word without a dash: `tar xzf a.tgz`.
  const letters = !first.startsWith("-") ? first : "";
  const mode = (flag: string, long: string[]) => letters.includes(flag) || parsed.has(`-${flag}`, ...long);
  const extract = mode("x", ["--extract", "--get"]);
  const create =
    mode("c", ["--create"]) || mode("r", ["--append"]) || mode("u", ["--update"]) || mode("A", ["--catenate", "--concatenate"]);
  const deleteMode = parsed.has("--delete");
  let archive = parsed.value("-f", "--file");
  if (!archive && letters.includes("f")) {
    // With old-style letters the archive is the next word for `f` (in the order of value letters).
    const valueLetters = [...letters].filter((c) => "fbCgKLNTVX".includes(c));
    const at = valueLetters.indexOf("f");
    archive = inv.args[1 + at];
  }
  for (const o of parsed.options) {
    if (o.name !== "--checkpoint-action" || !o.value) continue;
    const v = o.value.value;
    if (v === undefined) ctx.find("exec.surface", "sets a tar checkpoint action the detector cannot see");
    else if (/^exec=/.test(v)) ctx.shell(syntheticArg(v.slice(5), o.value));
    else if (!/^(dot|\.|bell|echo|echo=.*|ttyout=.*|totals|wait=\w+|sleep=\d+)$/.test(v))
      ctx.find("exec.surface", `sets the tar checkpoint action \`${v}\``);
  }
  const dir = parsed.value("-C", "--directory");
  if (extract) {
    if (parsed.has("-O", "--to-stdout", "--to-command")) return;
    if (parsed.has("-P", "--absolute-names")) ctx.find("fs.write-outside", "extracts with absolute paths, anywhere");
    const where = dir ?? syntheticArg(".");
    ctx.path(where, "write");
    const fromDownload =
      (archive?.value === "-" || !archive) && inv.stdin.kind === "pipe"
        ? inv.stdin.producers.download
        : archive?.value !== undefined && ctx.scope.effects.origin(ctx.resolve(archive) ?? "")?.kind === "download";
    if (fromDownload) {
      const abs = ctx.resolve(where);
      if (abs !== undefined && !abs.startsWith("~"))
        ctx.scope.effects.files.set(abs === ctx.project ? `${abs}/.extracted` : abs, { kind: "download" });
      if (abs === ctx.project) markProjectDownloaded(ctx);
    }
  }
  if ((create || deleteMode) && archive && archive.value !== "-") ctx.path(archive, "write");
  if (create && parsed.has("--remove-files"))
    for (const p of parsed.positionals.slice(letters ? 2 : 0)) ctx.path(p, "delete", { recursive: true });
}

/** An archive from the network unpacked into the project root: any project code run afterwards may be it. */
function markProjectDownloaded(ctx: ToolContext): void {
  ctx.scope.effects.files.set(`${ctx.project}/.downloaded-archive.sh`, { kind: "download" });
}

/** `unzip ARCHIVE [-d DIR]`, `7z x`, `unrar x`: extraction writes into the destination. */
export function extract(ctx: ToolContext): void {
  const { parsed, inv } = ctx;
  if (["7z", "7za", "7zr", "7zz", "unrar"].includes(inv.program)) {
    const verb = parsed.positionals[0]?.value;
    if (verb !== "x" && verb !== "e") {
      if (verb === "a" || verb === "u" || verb === "d" || verb === "rn") {
        const archive = parsed.positionals[1];
        if (archive) ctx.path(archive, "write");
      }
      return;
    }
    const out = inv.args.find((a) => a.value?.startsWith("-o") && a.value.length > 2);
    ctx.path(
      out
        ? syntheticArg(out.value?.slice(2), out)
        : parsed.positionals[2] && inv.program === "unrar"
          ? parsed.positionals[2]
          : syntheticArg("."),
      "write",
    );
    return;
  }
  if (parsed.has("-l", "-t", "-v", "-Z", "-p", "-c", "-z")) return;
  const dest = parsed.value("-d", "--dest", "--destination");
  const where = dest ?? syntheticArg(".");
  ctx.path(where, "write");
  const archive = parsed.positionals[0];
  if (archive?.value !== undefined && ctx.scope.effects.origin(ctx.resolve(archive) ?? "")?.kind === "download") {
    const abs = ctx.resolve(where);
    if (abs !== undefined && !abs.startsWith("~")) {
      if (abs === ctx.project) markProjectDownloaded(ctx);
      else ctx.scope.effects.files.set(abs, { kind: "download" });
    }
  }
}

/** Tools whose last argument is the output file (`ffmpeg … out.mp4`, `convert in.png out.jpg`); ImageMagick's `|cmd` inputs run commands. */
export function lastOutput(ctx: ToolContext): void {
  const args = ctx.inv.args;
  for (const a of args) {
    if (a.value?.startsWith("|")) ctx.find("exec.surface", "reads an input through a command (`|cmd`)");
    if (a.value !== undefined && /^(msl|ephemeral|show|win|x|mvg|text|label|caption|pango|@):/i.test(a.value))
      ctx.find("exec.surface", `uses the ${a.value.split(":")[0]}: coder, which can read, write or run other files`);
  }
  const last = args[args.length - 1];
  if (last && args.length > 1 && !(last.value?.startsWith("-") ?? false)) ctx.path(last, "write");
}

/** `zip ARCHIVE FILES…`: the archive is written. */
export function zip(ctx: ToolContext): void {
  const archive = ctx.parsed.positionals[0];
  if (archive) ctx.path(archive, "write");
}

/** `ar MODE ARCHIVE…` writes the archive; `cpio -i`/`pax -r` extract where the archive says; `cpio -p DIR` copies into DIR. */
export function archiver(ctx: ToolContext): void {
  const { parsed, inv } = ctx;
  if (inv.program === "ar") {
    const archive = parsed.positionals[1];
    if (archive && /[dmqrs]/.test(parsed.positionals[0]?.value ?? "")) ctx.path(archive, "write");
    return;
  }
  const letters = inv.args
    .map((a) => a.value ?? "")
    .filter((v) => /^-[A-Za-z]+$/.test(v))
    .join("");
  const long = inv.args.map((a) => a.value ?? "");
  if (inv.program === "cpio") {
    if (letters.includes("t") || long.includes("--list")) return;
    if (letters.includes("p") || long.includes("--pass-through")) {
      const dest = parsed.positionals[0];
      if (dest) ctx.path(dest, "write");
      return;
    }
    if (letters.includes("i") || long.includes("--extract"))
      ctx.find("fs.write-outside", "extracts an archive to the paths it names, which may be anywhere");
    return;
  }
  if (letters.includes("r") && !letters.includes("w"))
    ctx.find("fs.write-outside", "extracts an archive to the paths it names, which may be anywhere");
}
