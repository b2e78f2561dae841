import type { ToolContext } from "../engine/context.js";
import { basename } from "../engine/paths-util.js";
import { type Arg, syntheticArg } from "../engine/words.js";

/** This machine: loopback names and addresses, and the host as seen from a container. */
export const LOCALHOST =
  /^(?:[a-z][a-z0-9+.-]*:\/\/)?(?:[^@/]*@)?(localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1|0\.0\.0\.0|host\.docker\.internal|[\w-]+\.localhost)(?:[:/?#]|$)/i;
const URL = /^(https?|ftps?|sftp|scp|file|gopher|dict|ldap|ldaps|smtp|smtps|telnet|tftp|imap|imaps|pop3|pop3s|rtsp|mqtt|ws|wss):\/\//i;
const HOSTLIKE = /^[\w.-]+\.[a-z]{2,}(:\d+)?(\/|$)|^(localhost|127\.)/i;

const CURL_DATA = [
  "-d",
  "--data",
  "--data-raw",
  "--data-binary",
  "--data-urlencode",
  "--data-ascii",
  "--json",
  "-F",
  "--form",
  "--form-string",
  "--post-data",
  "--post-file",
  "--body-data",
  "--body-file",
  "-T",
  "--upload-file",
];
const UPLOAD_OPTIONS = ["-T", "--upload-file", "--post-file", "--body-file"];
const OUTPUT_OPTIONS = ["-o", "--output", "--out", "-O", "--output-document", "-P", "--directory-prefix", "--output-dir", "-d", "--dir"];

/**
 * curl, wget, httpie/xh, aria2c …: a request that is not GET/HEAD/OPTIONS to a host other than
 * this machine changes state (clause 2); uploads and computed URLs send data away (clause 7);
 * downloads write files (judged as paths) and are remembered, so running one later on the line is
 * download-and-run.
 */
export function http(ctx: ToolContext): void {
  const { inv, parsed } = ctx;
  const program = inv.program;
  const httpie = program === "http" || program === "https" || program === "xh" || program === "xhs";
  const positionals = parsed.positionals;
  const urls = positionals.filter(
    (a) => a.value !== undefined && (URL.test(a.value) || HOSTLIKE.test(a.value) || (httpie && /^:\d*(\/|$)/.test(a.value))),
  );
  const dynamicTarget = positionals.some((a) => a.value === undefined);
  const allLocal =
    urls.length > 0 &&
    urls.every(
      (u) =>
        LOCALHOST.test(u.value as string) || /^file:\/\//i.test(u.value as string) || (httpie && /^:\d*(\/|$)/.test(u.value as string)),
    ) &&
    !dynamicTarget;
  const curlLike = program === "curl" || program === "curlie" || program === "curl-impersonate" || program === "hurl";
  const method = (
    parsed.value("-X", "--request", "--method")?.value ??
    (program === "lwp-request" ? parsed.value("-m")?.value : undefined) ??
    (/^(POST|PUT)$/.test(program) ? program : "")
  ).toUpperCase();
  const getQuery = curlLike && parsed.has("-G", "--get");
  let changes =
    (method !== "" && !/^(GET|HEAD|OPTIONS)$/.test(method)) ||
    (curlLike && !getQuery && CURL_DATA.some((f) => parsed.has(f))) ||
    (curlLike && getQuery && UPLOAD_OPTIONS.some((f) => parsed.has(f))) ||
    parsed.has("--post-data", "--post-file", "--method", "--body-data", "--body-file");
  if (httpie) {
    const first = positionals[0]?.value ?? "";
    if (/^(POST|PUT|PATCH|DELETE)$/i.test(first)) changes = true;
    if (
      positionals.some(
        (a) => a.value !== undefined && !URL.test(a.value) && /^[\w.\-[\]]+(:=@?|==|=@?|@)/.test(a.value) && !a.value.includes("=="),
      ) &&
      !parsed.has("--offline")
    )
      changes = true;
  }
  const uploads =
    UPLOAD_OPTIONS.some((f) => parsed.has(f)) ||
    parsed.options.some(
      (o) =>
        o.value?.value !== undefined &&
        /^(-d|--data|--data-binary|--data-urlencode|--data-ascii|--json|-F|--form)$/.test(o.name) &&
        /(^|=)[@<][^\s]/.test(o.value.value),
    ) ||
    (httpie &&
      positionals.some(
        (a) => a.value !== undefined && (/^[\w.-]+(=@|@|:=@)/.test(a.value) || /^@[^\s]/.test(a.value)) && !URL.test(a.value),
      ));
  if (httpie && parsed.has("--offline")) return ctx.find("local.read");
  if (parsed.has("--unix-socket", "--abstract-unix-socket")) {
    if (changes) ctx.find("infra.change", "sends a state-changing request to a local daemon's socket");
    else ctx.find("local.network-read");
  } else if (!allLocal) {
    if (uploads) ctx.find("net.upload");
    else if (changes) ctx.find("net.state-changing-request");
    if (dynamicTarget || urls.some((u) => u.substitutions.length > 0)) ctx.find("net.exfiltrate", "puts computed data into a URL or host");
    const headerFromSubstitution = parsed.options.some(
      (o) =>
        o.value && o.value.substitutions.length > 0 && /^(-H|--header|-A|--user-agent|-e|--referer|-b|--cookie|-u|--user)$/.test(o.name),
    );
    if (headerFromSubstitution) ctx.find("net.exfiltrate", "sends the output of a command in a request header");
    // A URL consumed as an option's value (an option the table misreads) still leaves with its data.
    if (parsed.options.some((o) => o.value && o.value.value === undefined && (URL.test(o.value.prefix) || HOSTLIKE.test(o.value.prefix))))
      ctx.find("net.exfiltrate", "puts computed data into a URL or host");
    if (
      getQuery &&
      parsed.options.some((o) => CURL_DATA.includes(o.name) && o.value && (o.value.value === undefined || o.value.substitutions.length > 0))
    )
      ctx.find("net.exfiltrate", "puts computed data into the query string (`-G`)");
  }
  if (!changes && !uploads) ctx.find("local.network-read");
  // Config files and wgetrc commands can set anything: outputs, uploads, commands.
  for (const o of parsed.options) {
    if ((o.name === "-K" || o.name === "--config") && o.value && program === "curl") ctx.runFile(o.value, "unknown");
    if ((o.name === "-e" || o.name === "--execute") && program === "wget") {
      const v = o.value?.value;
      if (
        v === undefined ||
        !/^\s*(robots|check_certificate|tries|timeout|wait|user_agent|header|progress|quiet|verbose|retry_connrefused|no_proxy|https_only)\s*=/i.test(
          v,
        )
      )
        ctx.find("exec.surface", `runs a wget command (\`${o.value?.text ?? "-e"}\`)`);
    }
    if (o.name === "--config" && program === "wget" && o.value) ctx.runFile(o.value, "unknown");
    if (o.name === "--conf-path" && program === "aria2c" && o.value) ctx.runFile(o.value, "unknown");
    // aria2c: every `--on-…` option is a hook program, including ones this table does not list.
    if (program === "aria2c" && o.effect === undefined && /^--on-/.test(o.name))
      ctx.find("exec.surface", `runs a hook program (\`${o.arg.text}\`)`);
  }
  // What it writes, and what that is afterwards.
  const output = parsed.options.filter((o) => OUTPUT_OPTIONS.includes(o.name) && o.value);
  const remoteName =
    program === "curl"
      ? parsed.has("-O", "--remote-name", "--remote-name-all", "-J")
      : program === "wget" || program === "wget2" || program === "aria2c" || program === "lwp-download" || program === "axel";
  const dirOption = output.find((o) => ["-P", "--directory-prefix", "--output-dir", "-d", "--dir"].includes(o.name));
  const fileOption = output.find((o) => ["-o", "--output", "--out", "-O", "--output-document"].includes(o.name));
  const isStdout = (a: Arg | undefined) => a?.value === "-" || a?.value === "/dev/stdout";
  if (fileOption?.value && !isStdout(fileOption.value) && !(program === "curl" && fileOption.name === "-O")) {
    ctx.path(fileOption.value, "write", { dir: ctx.dir });
    ctx.wrote(fileOption.value, { kind: "download" });
  } else if (remoteName && !(program === "wget" && isStdout(fileOption?.value))) {
    const dir = dirOption?.value?.value;
    if (dirOption?.value) ctx.path(dirOption.value, "write");
    for (const u of urls) {
      const name = basename((u.value as string).replace(/[?#].*$/, "").replace(/^[a-z]+:\/\/[^/]+\/?$/i, "index.html")) || "index.html";
      const file = syntheticArg(dir ? `${dir}/${name}` : name, u);
      ctx.wrote(file, { kind: "download" });
    }
  }
  for (const o of parsed.options)
    if (
      [
        "-D",
        "--dump-header",
        "-c",
        "--cookie-jar",
        "--trace",
        "--trace-ascii",
        "--stderr",
        "--libcurl",
        "--etag-save",
        "--hsts",
        "--alt-svc",
        "-a",
        "--append-output",
        "--output-file",
        "--save-cookies",
        "--warc-file",
      ].includes(o.name) &&
      o.value &&
      !isStdout(o.value) &&
      o.value.value !== "-"
    )
      ctx.path(o.value, "write");
  if (httpie && parsed.has("-d", "--download") && !fileOption)
    for (const u of urls)
      ctx.wrote(syntheticArg(basename((u.value as string).replace(/[?#].*$/, "")) || "index.html", u), { kind: "download" });
}

/** nc, ncat, netcat, socat, telnet: a connection to another host, a listener, or a program on the socket. */
export function netcat(ctx: ToolContext): void {
  const { inv, parsed } = ctx;
  if (inv.program === "socat") {
    for (const p of parsed.positionals) {
      const v = p.value;
      if (v === undefined) return ctx.find("net.remote-session", "opens a connection to an address it computes");
      const upper = v.toUpperCase();
      if (/^(EXEC|SYSTEM):/.test(upper)) ctx.find("exec.surface", "runs a program on the connection");
      if (/^(TCP|UDP|SCTP|SSL|OPENSSL|SOCKS\d?|PROXY|DCCP|IP|UDPLITE)[46]?[-:]|^(TCP|UDP|SSL|OPENSSL)[46]?-LISTEN/.test(upper)) {
        if (/LISTEN/.test(upper) || !LOCALHOST.test(v.replace(/^[A-Z0-9-]+:/i, ""))) ctx.find("net.remote-session");
      }
    }
    return ctx.find("local.read");
  }
  const listen = parsed.has("-l", "--listen");
  const exec = parsed.has("-e", "-c", "--exec", "--sh-exec", "--lua-exec");
  const hosts = parsed.positionals.filter((p) => !/^\d+(-\d+)?$/.test(p.value ?? "x"));
  if (listen || exec) return ctx.find("net.remote-session", listen ? "listens for connections" : "runs a program on a connection");
  if (hosts.some((h) => h.value === undefined || !LOCALHOST.test(h.value))) {
    stdinUpload(ctx);
    return ctx.find("net.remote-session");
  }
  ctx.find("local.read");
}

/** Options of lookup tools whose value is a file: every line of it is looked up, pinged or sent. */
const LOOKUP_FILES: Record<string, readonly string[]> = {
  dig: ["-f"],
  kdig: ["-f"],
  delv: ["-f"],
  fping: ["-f", "--file"],
  mtr: ["-F", "--filename"],
  "ssh-keyscan": ["-f"],
  hping3: ["-E", "--file"],
  nping: ["--data-file"],
  masscan: ["-iL", "--includefile"],
  dnsx: ["-l", "-list"],
  massdns: ["-r"],
};
/** Lookup tools that read their targets from standard input when none are given. */
const STDIN_TARGETS = new Set(["fping", "nslookup", "dnsx", "massdns"]);
/** getent databases that are looked up in DNS (or another network service). */
const GETENT_NETWORK = /^(hosts|ahosts|ahostsv4|ahostsv6|networks|netgroup|services)$/;

/**
 * ping, dig, host, nslookup, traceroute, whois, getent hosts …: looking up literal names is a
 * read; any word built at run time (a target, a `-p` payload, a server) sends data away, and so do
 * targets or payloads read from a file or from standard input (`dig -f`, `fping < list`, `hping3 -E`).
 */
export function lookup(ctx: ToolContext): void {
  const { inv } = ctx;
  const program = inv.program;
  if (program === "getent") {
    const db = inv.args.find((a) => !(a.value ?? "x").startsWith("-"));
    if (db && db.value === undefined)
      return ctx.find("exec.dynamic-word", `names a getent database with \`${db.text}\`, which is not a literal`);
    if (!db || !GETENT_NETWORK.test(db.value as string)) return ctx.find("local.read");
  }
  if (inv.args.some((p) => p.value === undefined || p.substitutions.length > 0 || p.variables.length > 0))
    return ctx.find("net.exfiltrate", "puts computed data into a network lookup or packet");
  const files = LOOKUP_FILES[program] ?? [];
  for (let i = 0; i < inv.args.length; i++) {
    const v = inv.args[i]?.value as string;
    const name = files.find((f) => v === f || (v.startsWith(f) && (f.startsWith("--") ? v[f.length] === "=" : f.length === 2)));
    if (!name) continue;
    const file = v === name ? inv.args[i + 1]?.value : v.slice(name.length + (name.startsWith("--") ? 1 : 0));
    if (file === "-" || file === "/dev/stdin") {
      if (inv.stdin.kind !== "terminal")
        return ctx.find("net.exfiltrate", `sends what it reads on standard input to the network (${program} ${name})`);
      continue;
    }
    return program === "hping3" || program === "nping"
      ? ctx.find("net.upload", `sends a local file inside packets (${program} ${name})`)
      : ctx.find("net.exfiltrate", `looks up or contacts every line of a local file (${program} ${name})`);
  }
  if (STDIN_TARGETS.has(program) && inv.stdin.kind !== "terminal" && !(inv.stdin.kind === "text" && inv.stdin.literal)) {
    const targets = inv.args.filter((a) => !(a.value ?? "-").startsWith("-"));
    // `nslookup - SERVER`: interactive mode, the names come from standard input.
    const interactive = program === "nslookup" && inv.args.find((a) => a.value === "-" || !(a.value ?? "-").startsWith("-"))?.value === "-";
    if (targets.length === 0 || interactive) return ctx.find("net.exfiltrate", `looks up names read from standard input (${program})`);
  }
  ctx.find("local.network-read");
}

/**
 * A network client (`openssl s_client`, `nc`, `telnet`) connected to another host sends whatever
 * its standard input carries: a file (other than /dev/null), a pipe or a heredoc built at run time
 * is an upload. Nothing (`< /dev/null`, `echo |`) or literal text is not.
 */
export function stdinUpload(ctx: ToolContext): boolean {
  const stdin = ctx.inv.stdin;
  switch (stdin.kind) {
    case "file":
      if (stdin.arg.value === "/dev/null" || stdin.arg.value === "/dev/zero") return false;
      break;
    case "pipe":
      if (stdin.producers.text !== undefined && !stdin.producers.download && !stdin.producers.decodes) return false;
      break;
    case "text":
      if (stdin.literal) return false;
      break;
    case "terminal":
      return false;
  }
  ctx.find("net.upload", "sends what it reads on standard input to another host");
  return true;
}

/** `openssl s_client -connect HOST:PORT`: a TLS connection; to another host, its input is sent there. */
export function tlsClient(ctx: ToolContext): void {
  const { parsed } = ctx;
  const target = parsed.value("-connect", "-host") ?? parsed.positionals[0];
  const proxy = parsed.value("-proxy");
  for (const t of [target, proxy, parsed.value("-servername")])
    if (t && (t.value === undefined || t.substitutions.length > 0 || t.variables.length > 0))
      return ctx.find("net.exfiltrate", "puts computed data into a host name");
  if (target?.value !== undefined && LOCALHOST.test(target.value) && !proxy) return;
  stdinUpload(ctx);
}

const REMOTE = (v: string) =>
  /^([\w.-]+@)?[\w.-]+:(?!\/\/)/.test(v) || /^(rsync|sftp|scp|ssh):\/\//.test(v) || /^[\w.-]+::/.test(v) || /^[\w.-]+@[\w.-]+$/.test(v);

/**
 * scp and rsync: a destination on another host sends files away (clause 7); a local destination is
 * a write (with `--delete`, a delete); sources removed with `--remove-source-files` are deletes.
 */
export function remoteCopy(ctx: ToolContext): void {
  const { parsed, inv } = ctx;
  if (inv.program !== "rsync") sshOptions(ctx);
  const positionals = parsed.positionals;
  if (positionals.some((p) => p.value === undefined)) {
    const dest = positionals[positionals.length - 1];
    if (dest?.value === undefined) return ctx.find("net.copy-to-remote", "copies files to a destination it computes");
  }
  if (positionals.length < 2) return ctx.find("local.read");
  const dest = positionals[positionals.length - 1] as Arg;
  const sources = positionals.slice(0, -1);
  if (dest.value !== undefined && REMOTE(dest.value) && !LOCALHOST.test(dest.value.replace(/^[\w.-]+@/, "")))
    return ctx.find("net.copy-to-remote");
  if (inv.program === "scp" && parsed.has("-3")) return ctx.find("net.copy-to-remote");
  const dryRun = parsed.has("-n", "--dry-run", "--list-only");
  if (dryRun) return ctx.find("local.read");
  const deletes =
    inv.program === "rsync" && parsed.options.some((o) => o.name.startsWith("--delete") || o.name === "--remove-source-files");
  ctx.path(dest, deletes ? "delete" : "write", { recursive: deletes });
  if (parsed.has("--remove-source-files")) for (const s of sources) if (s.value !== undefined && !REMOTE(s.value)) ctx.path(s, "delete");
  const fromRemote = sources.some((s) => s.value !== undefined && REMOTE(s.value));
  if (fromRemote) {
    ctx.find("local.network-read");
    ctx.wrote(dest, { kind: "download" });
  } else
    for (const s of sources) {
      const cls = ctx.classify(s);
      if (cls === "outside" || cls === "tmp") ctx.wrote(dest, { kind: "outside" });
    }
}

/** ssh `-o KEY=VALUE` options that run a shell command locally. */
const SSH_COMMAND_KEYS = /^(ProxyCommand|LocalCommand|KnownHostsCommand|RemoteCommand|Match)$/i;
/** ssh options that load native code (PKCS#11 and security-key providers) or name a program. */
const SSH_NATIVE_KEYS = /^(PKCS11Provider|SecurityKeyProvider)$/i;

/** `-o KEY=VALUE` options of ssh, scp and sftp: commands, programs, libraries and included files are judged. */
export function sshOptions(ctx: ToolContext): void {
  for (const o of ctx.parsed.options) {
    if (o.name !== "-o" || !o.value) continue;
    const v = o.value.value;
    if (v === undefined) {
      ctx.find("exec.surface", "sets an ssh option the detector cannot see");
      continue;
    }
    const m = /^\s*([A-Za-z0-9]+)\s*(?:=\s*|\s+)(.*)$/s.exec(v);
    if (!m) continue;
    const key = m[1] as string;
    const value = syntheticArg((m[2] as string).trim().replace(/^"(.*)"$/s, "$1"), o.value);
    if (SSH_COMMAND_KEYS.test(key)) ctx.shell(value);
    else if (SSH_NATIVE_KEYS.test(key)) {
      const cls = ctx.classify(value);
      if (value.value !== "none" && value.value !== "internal" && cls !== "inside")
        ctx.find("exec.native", `makes ssh load \`${value.value}\` (${key})`);
    } else if (/^XAuthLocation$/i.test(key)) ctx.commandText(value);
    else if (/^Include$/i.test(key)) ctx.find("exec.surface", "includes an ssh configuration file, which can run commands");
  }
}

/** ssh: connecting to a host is a remote session (clause 7); `-G`, `-V`, `-Q` only print. `-o` options that run commands are judged too. */
export function ssh(ctx: ToolContext): void {
  const { parsed } = ctx;
  sshOptions(ctx);
  if (parsed.has("-V", "-Q", "-G")) return ctx.find("local.read");
  if (parsed.has("-F")) ctx.find("exec.surface", "reads an ssh configuration file, which can run commands");
  if (parsed.positionals.length === 0) return ctx.find("local.read");
  ctx.find("net.remote-session");
}

/** `ssh-keygen`: generating a key without `-f` writes under ~/.ssh; `-R` edits known_hosts; `-l`, `-y`, `-F` read. */
export function sshKeygen(ctx: ToolContext): void {
  const { parsed } = ctx;
  if (parsed.has("-R")) return ctx.find("fs.write-outside", "edits ~/.ssh/known_hosts");
  if (parsed.has("-l", "-y", "-F", "-L", "-Q", "-B", "-Y")) return ctx.find("local.read");
  const file = parsed.value("-f");
  if (!file) return ctx.find("fs.write-outside", "writes a key under ~/.ssh");
  ctx.path(file, "write");
}

/** Scanners: every target must be this machine. */
export function scanTarget(ctx: ToolContext): void {
  if (ctx.parsed.outcome === "local.read" && ctx.parsed.has("--script-help", "--version", "-V", "--help", "-h", "--iflist")) return;
  const targets = ctx.parsed.positionals;
  if (targets.length === 0 && !ctx.parsed.has("-iL")) return;
  if (ctx.parsed.has("-iL") || targets.some((t) => t.value === undefined || !LOCALHOST.test(t.value)))
    ctx.find("net.remote-session", "probes hosts other than this machine");
}

/** Load generators against another host change its state (and can take it down). */
export function loadTest(ctx: ToolContext): void {
  for (const p of ctx.parsed.positionals) {
    const v = p.value;
    if (v === undefined) return ctx.find("net.state-changing-request", "sends load to a host it computes");
    if ((URL.test(v) || /^[\w.-]+:\d+(\/|$)/.test(v)) && !LOCALHOST.test(v))
      return ctx.find("net.state-changing-request", `sends load to ${v}`);
  }
}

/** gRPC: `list`/`describe` read; a method call on another host may change its state. */
export function grpc(ctx: ToolContext): void {
  const ps = ctx.parsed.positionals.map((p) => p.value);
  if (ps.some((p) => p === undefined)) return ctx.find("net.state-changing-request", "calls a host or method it computes");
  const host = (ps as string[]).find((p) => /:\d+$|^[\w.-]+\.[a-z]{2,}/i.test(p));
  const verb = (ps as string[])[ps.length - 1] ?? "";
  if (/^(list|describe)$/.test(verb) || (ps as string[]).some((p) => p === "list" || p === "describe")) return;
  if (host && !LOCALHOST.test(host) && verb.includes("/")) ctx.find("net.state-changing-request", `calls ${verb} on ${host}`);
}
