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
const OUTPUT_OPTIONS = ["-o", "--output", "-O", "--output-document", "-P", "--directory-prefix", "--output-dir", "-d", "--dir"];

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
  const method = (parsed.value("-X", "--request", "--method")?.value ?? "").toUpperCase();
  let changes =
    (method !== "" && !/^(GET|HEAD|OPTIONS)$/.test(method)) ||
    (!httpie && CURL_DATA.some((f) => parsed.has(f))) ||
    parsed.has("--post-data", "--post-file", "--method");
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
    if (dynamicTarget || urls.some((u) => u.substitutions.length > 0))
      ctx.find("net.exfiltrate", "puts computed data into a URL or host");
    const headerFromSubstitution = parsed.options.some(
      (o) =>
        o.value && o.value.substitutions.length > 0 && /^(-H|--header|-A|--user-agent|-e|--referer|-b|--cookie|-u|--user)$/.test(o.name),
    );
    if (headerFromSubstitution) ctx.find("net.exfiltrate", "sends the output of a command in a request header");
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
  }
  // What it writes, and what that is afterwards.
  const output = parsed.options.filter((o) => OUTPUT_OPTIONS.includes(o.name) && o.value);
  const remoteName =
    program === "curl"
      ? parsed.has("-O", "--remote-name", "--remote-name-all", "-J")
      : program === "wget" || program === "aria2c" || program === "lwp-download" || program === "axel";
  const dirOption = output.find((o) => ["-P", "--directory-prefix", "--output-dir", "-d", "--dir"].includes(o.name));
  const fileOption = output.find((o) => ["-o", "--output", "-O", "--output-document"].includes(o.name));
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
  if (hosts.some((h) => h.value === undefined || !LOCALHOST.test(h.value))) return ctx.find("net.remote-session");
  ctx.find("local.read");
}

/** ping, dig, host, nslookup, traceroute, whois …: looking up a literal name is a read; a computed one sends data away. */
export function lookup(ctx: ToolContext): void {
  if (ctx.parsed.positionals.some((p) => p.value === undefined || p.substitutions.length > 0 || p.variables.length > 0))
    return ctx.find("net.exfiltrate", "puts computed data into a network lookup");
  ctx.find("local.network-read");
}

const REMOTE = (v: string) =>
  /^([\w.-]+@)?[\w.-]+:(?!\/\/)/.test(v) || /^(rsync|sftp|scp|ssh):\/\//.test(v) || /^[\w.-]+::/.test(v) || /^[\w.-]+@[\w.-]+$/.test(v);

/**
 * scp and rsync: a destination on another host sends files away (clause 7); a local destination is
 * a write (with `--delete`, a delete); sources removed with `--remove-source-files` are deletes.
 */
export function remoteCopy(ctx: ToolContext): void {
  const { parsed, inv } = ctx;
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

/** ssh: connecting to a host is a remote session (clause 7); `-G`, `-V`, `-Q` only print. `-o` options that run commands are judged too. */
export function ssh(ctx: ToolContext): void {
  const { parsed } = ctx;
  for (const o of parsed.options) {
    if (o.name !== "-o" || !o.value) continue;
    const v = o.value.value;
    if (v === undefined) {
      ctx.find("exec.surface", "sets an ssh option the detector cannot see");
      continue;
    }
    const m = /^\s*(ProxyCommand|LocalCommand|KnownHostsCommand|RemoteCommand|PermitLocalCommand|Match)\s*[= ]\s*(.*)$/i.exec(v);
    if (m && !/^(PermitLocalCommand)$/i.test(m[1] as string)) ctx.shell(syntheticArg(m[2] as string, o.value));
  }
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
