import type { ToolContext } from "../engine/context.js";
import { type Arg, syntheticArg } from "../engine/words.js";
import { lastOutput } from "./files.js";
import { LOCALHOST } from "./network.js";

/**
 * Media and document tools whose arguments hide code: exiftool's Perl expressions and renames,
 * ffmpeg filters that load native libraries or open sockets, latexmk's commands and Perl, tshark's
 * Lua scripts.
 */

/** exiftool options that take a value (lower case; exiftool options are not case sensitive). */
const EXIFTOOL_VALUES =
  /^-(if\d*|p\+?|printformat\+?|o|out|w[+!]*|textout[+!]*|tagout[+!]*|d|dateformat|x|exclude|ext\+?|extension\+?|i|ignore|c|coordformat|sep|separator|listitem|fileorder\d*|globaltimeshift|password|api|userparam|config|@|srcfile|tagsfromfile|geotag|geosync|geotime|efile\d*!?|csvdelim|use|file\d+|wm|writemode|charset|lang)$/;
/** Tags whose value is where the file goes (a rename, a move, a link). */
const EXIFTOOL_DESTINATIONS = /^(filename|directory|hardlink|symlink)$/;

/** The literal skeleton of an exiftool format string: tag values and `%` codes become plain names. */
function skeleton(text: string): string {
  return text
    .replace(/\$\{[^}]*\}/g, "x")
    .replace(/\$[A-Za-z][\w:-]*/g, "x")
    .replace(/%[-+]?\d*\.?\d*[dfecCs]/g, "x")
    .replace(/%%/g, "%");
}

/** Perl expressions inside exiftool formats (`${TAG;EXPR}`, `${TAG#;EXPR}`). */
function formatCode(ctx: ToolContext, value: Arg): void {
  const v = value.value;
  if (v === undefined) return;
  for (const m of v.matchAll(/\$\{[^};]*;([^}]*)\}/g)) ctx.code(syntheticArg(m[1] as string, value), "perl");
}

/**
 * exiftool: reading metadata is a read; assigning tags rewrites the files named (in place);
 * `-FileName=`/`-Directory=` (and links) move them to the path given; `-o`/`-w` write output files;
 * `-if` and `${TAG;EXPR}` formats are Perl; `-config` loads Perl; `-@` reads more arguments.
 */
export function exiftool(ctx: ToolContext): void {
  const args = ctx.inv.args;
  let writes = false;
  let dateFormat: Arg | undefined;
  const copies: Arg[] = [];
  const files: Arg[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Arg;
    const v = a.value;
    if (v === undefined) {
      if (a.prefix === "" || a.prefix.startsWith("-"))
        ctx.find("exec.dynamic-word", `passes \`${a.text}\` to exiftool, which is not a literal and may be an option that runs Perl`);
      else files.push(a);
      continue;
    }
    if (!v.startsWith("-") || v === "-") {
      files.push(a);
      continue;
    }
    if (v === "--") {
      files.push(...args.slice(i + 1));
      break;
    }
    const tag = /^-((?:[\w*-]+:)*)([\w*?-]+)(#?)([-+^]?)(<=|<|=)(.*)$/s.exec(v);
    if (tag && !EXIFTOOL_VALUES.test(`-${(tag[2] as string).toLowerCase()}`)) {
      writes = true;
      const name = (tag[2] as string).toLowerCase();
      const op = tag[5] as string;
      const value = syntheticArg(tag[6] as string, a);
      formatCode(ctx, value);
      if (op === "<=") {
        const source = value.value ?? "";
        if (source === "-" || source.startsWith("/dev/")) ctx.find("exec.surface", "reads a tag value from standard input or a device");
      } else if (EXIFTOOL_DESTINATIONS.test(name)) {
        if (op === "<") copies.push(value);
        else if (value.value !== "") ctx.path(syntheticArg(skeleton(value.value as string), a), "write");
      }
      continue;
    }
    const name = v.toLowerCase();
    const m = EXIFTOOL_VALUES.exec(name);
    if (!m) {
      if (/^-(delete_original!?|restore_original|overwrite_original(_in_place)?|(csv|j|json)\+?=.*)$/.test(name)) writes = true;
      continue;
    }
    const value = args[++i];
    if (!value) break;
    const option = m[1] as string;
    if (value.value === undefined) {
      if (/^(if|p|printformat|api|config|@|o|out|w|textout|tagout|efile|d|dateformat)/.test(option))
        ctx.find("exec.dynamic-word", `gives exiftool's \`${v}\` a value that is not a literal`);
      continue;
    }
    if (/^if\d*$/.test(option)) ctx.code(value, "perl");
    else if (/^(p|printformat)\+?$/.test(option)) {
      if (value.value.includes("$")) formatCode(ctx, value);
      else ctx.runFile(value, "perl");
    } else if (option === "api") {
      const api = /^\s*(filter|filterw)\s*\^?=\s*(.*)$/is.exec(value.value);
      if (api) ctx.code(syntheticArg(api[2] as string, value), "perl");
    } else if (option === "config") ctx.runFile(value, "perl");
    else if (option === "@") {
      if (value.value === "-") ctx.find("exec.surface", "reads more arguments (which can be Perl) from standard input");
      else if (ctx.classify(value) !== "inside")
        ctx.find("exec.surface", `reads more arguments (which can be Perl) from \`${value.text}\``);
    } else if (/^(o|out)$/.test(option)) {
      if (value.value !== "-") ctx.path(syntheticArg(skeleton(value.value), value), "write");
    } else if (/^(w|textout|tagout|efile)/.test(option)) {
      if (/[/%~]/.test(value.value) || option.startsWith("efile")) ctx.path(syntheticArg(skeleton(value.value), value), "write");
    } else if (/^(d|dateformat)$/.test(option)) dateFormat = value;
    else if (option === "tagsfromfile") writes = true;
  }
  for (const c of copies) {
    // `-FileName<CreateDate`: the new name is built from the date format, or from tag values.
    const text = c.value ?? "";
    const format = text.includes("$") ? text : (dateFormat?.value ?? "");
    if (format !== "") ctx.path(syntheticArg(skeleton(format), c), "write");
  }
  if (!writes) return ctx.find("local.read");
  for (const f of files) ctx.path(f, "write", { recursive: true });
}

/** ffmpeg filters that load a shared library, by where the library's path is given. */
const NATIVE_FILTERS: Record<string, readonly string[] | "always"> = {
  ladspa: ["file", "f"],
  frei0r: ["filter_name"],
  frei0r_src: ["filter_name"],
  lv2: "always",
};

/**
 * ffmpeg: filters that load native libraries (`ladspa`, `lv2`, `frei0r`) from outside the project
 * are clause 8, `zmq`/`azmq` filters listen on a socket, outputs to another host (`tcp://`,
 * `rtmp://`, `udp://` …) send the media there; the last argument is the output file.
 */
export function ffmpeg(ctx: ToolContext): void {
  const args = ctx.inv.args;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Arg;
    const v = a.value;
    const previous = args[i - 1]?.value ?? "";
    if (v === undefined) {
      if (/^-(vf|af|filter(:[avs])?|filter_complex|lavfi|i)$/.test(previous))
        ctx.find("exec.dynamic-word", `gives ffmpeg's \`${previous}\` a value that is not a literal`);
      continue;
    }
    if (/^-(filter_script|filter_complex_script)(:[avs])?$/.test(previous) || /^-\/./.test(previous)) {
      if (ctx.classify(a) !== "inside") ctx.find("exec.surface", `reads a filter graph (which can load libraries) from \`${a.text}\``);
      continue;
    }
    for (const m of v.matchAll(
      /(?:^|[,;\]\s'"])\s*(ladspa|lv2|frei0r_src|frei0r|zmq|azmq)(?=\s*(?:[=@,;[\]]|$))\s*(?:@[\w.-]+)?\s*(?:=\s*([^,;[]*))?/g,
    )) {
      const filter = m[1] as string;
      if (filter === "zmq" || filter === "azmq") {
        ctx.find("net.remote-session", `listens for commands on a socket (${filter} filter)`);
        continue;
      }
      const keys = NATIVE_FILTERS[filter];
      if (keys === "always") {
        ctx.find("exec.native", `loads a native plugin (${filter} filter)`);
        continue;
      }
      const params = (m[2] ?? "").split(/(?<!\\):/).map((p) => p.trim().replace(/^'(.*)'$/s, "$1"));
      const named = params.map((p) => /^(\w+)\s*=\s*(.*)$/s.exec(p)).find((p) => p && keys?.includes(p[1] as string));
      const library = named ? (named[2] as string) : params[0] && !/^\w+\s*=/.test(params[0]) ? params[0] : "";
      if (library === "" || !library.includes("/")) continue; // looked up in the system plugin directories
      if (ctx.classify(syntheticArg(library, a)) !== "inside")
        ctx.find("exec.native", `loads \`${library}\` into ffmpeg (${filter} filter)`);
    }
    if (previous === "-i") continue;
    for (const m of v.matchAll(
      /\b(tcp|udp|rtp|rtsp|rtsps|rtmp[a-z]*|srt|rist|http|https|ftp|sftp|icecast|tls|zmq|gopher):\/\/([^\s|"'\]]*)/gi,
    )) {
      const url = `${m[1]}://${m[2]}`;
      if (!LOCALHOST.test(url)) ctx.find("net.upload", `sends its output to ${url}`);
    }
  }
  if (args.some((a, i) => a.value === "-listen" && args[i + 1]?.value !== "0"))
    ctx.find("net.remote-session", "listens for connections (-listen)");
  lastOutput(ctx);
}

/**
 * latexmk: `-pdflatex=CMD` and its siblings replace the commands it runs (through the shell);
 * `-e` is Perl, `-r FILE` a Perl rc file; `-latexoption` passes options to the engine, where
 * `-shell-escape` lets documents run programs.
 */
export function latexmk(ctx: ToolContext): void {
  const { parsed } = ctx;
  for (const o of parsed.options) {
    const name = o.name.replace(/^--/, "-");
    if ((name === "-r" || name === "-rc") && o.value) ctx.runFile(o.value, "perl");
    if (name === "-latexoption") {
      const v = o.value?.value;
      if (v === undefined) ctx.find("exec.dynamic-word", "passes TeX options that are not a literal");
      else if (/(^|\s)--?(shell-escape|enable-write18|shell-restricted)\b/.test(v))
        ctx.find("exec.surface", "lets the document run programs (-shell-escape)");
    }
  }
}

/** tshark/wireshark `-X lua_script:FILE`: a Lua script loaded into the dissector. */
export function capture(ctx: ToolContext): void {
  for (const o of ctx.parsed.options) {
    if (o.name !== "-X" || !o.value) continue;
    const v = o.value.value;
    if (v === undefined) {
      ctx.find("exec.dynamic-word", "passes a tshark extension option that is not a literal");
      continue;
    }
    const m = /^lua_script:(.*)$/s.exec(v);
    if (m) ctx.runFile(syntheticArg(m[1] as string, o.value), "lua");
  }
}
