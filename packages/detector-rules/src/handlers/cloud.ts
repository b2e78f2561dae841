import type { ToolContext } from "../engine/context.js";
import { type Arg, syntheticArg } from "../engine/words.js";
import type { FindingId } from "../findings.js";
import { LOCALHOST } from "./network.js";

/**
 * Cloud CLIs name their operations by convention (`describe-instances`, `list`, `get-iam-policy`):
 * deny by default, an operation is local only when its name is a read. Words before it are the
 * service and resource groups.
 */

const AWS_READ =
  /^(describe|list|get|head|lookup|search|batch-get|scan|query|select|validate|estimate|simulate|test|filter|tail|wait|help|preview|check|detect|discover|export|generate-presigned|presign)(-|$)/;
const AWS_SPECIAL: Record<string, FindingId> = {
  "sts get-caller-identity": "local.read",
  "sts assume-role": "local.read",
  "sts get-session-token": "local.read",
  "ecr get-login-password": "local.read",
  "ecr get-authorization-token": "local.read",
  "configure list": "local.read",
  "configure list-profiles": "local.read",
  "configure get": "local.read",
  "configure set": "sys.config",
  "configure sso": "sys.config",
  "configure import": "sys.config",
  configure: "sys.config",
  "sso login": "sys.config",
  "sso logout": "sys.config",
  "ssm start-session": "net.remote-session",
  "ec2-instance-connect ssh": "net.remote-session",
  "ec2-instance-connect send-ssh-public-key": "net.remote-session",
  "ecs execute-command": "net.remote-session",
  "logs tail": "local.read",
  "logs start-live-tail": "local.read",
  "logs filter-log-events": "local.read",
  "lambda invoke": "infra.change",
  "secretsmanager get-secret-value": "local.read",
  "ssm get-parameter": "local.read",
  "ssm get-parameters": "local.read",
  "ssm get-parameters-by-path": "local.read",
  "kms decrypt": "local.read",
  "kms encrypt": "local.read",
  "eks update-kubeconfig": "sys.config",
  "codeartifact login": "sys.config",
  "ecr-public get-login-password": "local.read",
};

function words(ctx: ToolContext): (string | undefined)[] {
  return ctx.parsed.positionals.map((p) => p.value);
}

/**
 * `file://PATH` and `fileb://PATH` parameter values (and `@PATH` for az) are read and sent with the
 * request: a path outside the project (or under /tmp) sends that file away (clause 7).
 */
function fileParameters(ctx: ToolContext, prefix: RegExp): void {
  for (const a of ctx.inv.args) {
    const v = a.value;
    if (v === undefined) {
      if (prefix.test(a.prefix.replace(/^--[\w-]+=/, ""))) ctx.find("net.upload", `sends a file named at run time (\`${a.text}\`)`);
      continue;
    }
    const value = v.replace(/^--[\w-]+=/, "");
    const m = prefix.exec(value);
    if (!m) continue;
    const path = value.slice(m[0].length);
    const cls = ctx.classify(syntheticArg(path, a));
    if (cls !== "inside") ctx.find("net.upload", `sends \`${path}\`, outside the project, with the request`);
  }
}

export function aws(ctx: ToolContext): void {
  fileParameters(ctx, /^fileb?:\/\//i);
  const [service, operation, ...rest] = words(ctx);
  if (service === undefined || (ctx.parsed.positionals.length > 0 && ctx.parsed.positionals[0]?.value === undefined)) {
    if (ctx.parsed.positionals.length === 0) return ctx.find("local.read");
    return ctx.find("exec.dynamic-word", "names an AWS service that is not a literal");
  }
  if (service === "help" || operation === "help" || ctx.parsed.has("--version")) return ctx.find("local.read");
  if (operation === undefined)
    return service === "configure"
      ? ctx.find("sys.config")
      : ctx.find("exec.unknown-verb", `\`aws ${service}\` alone is not known to be local`);
  if (ctx.parsed.positionals[1]?.value === undefined) return ctx.find("exec.dynamic-word", "names an AWS operation that is not a literal");
  const special = AWS_SPECIAL[`${service} ${operation}`] ?? (operation === undefined ? AWS_SPECIAL[service] : undefined);
  if (special) return ctx.find(special, `aws ${service} ${operation}`);
  if (service === "s3") return s3(ctx, operation, rest);
  if (ctx.parsed.has("--dry-run") && service === "ec2") return ctx.find("local.read", "a dry run (aws ec2 --dry-run)");
  if (AWS_READ.test(operation)) return ctx.find("local.read");
  ctx.find("infra.change", `changes cloud state (aws ${service} ${operation})`);
}

/** `aws s3 cp|sync|mv SRC DST`: from a bucket into the project is a download; into a bucket is an upload; rm/mb/rb change state. */
function s3(ctx: ToolContext, operation: string, rest: (string | undefined)[]): void {
  if (operation === "ls" || operation === "presign") return ctx.find("local.read");
  // `--dryrun` prints what cp/mv/rm/sync would do and changes nothing.
  if (ctx.parsed.has("--dryrun") && /^(cp|mv|rm|sync)$/.test(operation)) return ctx.find("local.read", "a dry run (aws s3 --dryrun)");
  if (operation === "cp" || operation === "sync" || operation === "mv") {
    const [src, dst] = rest;
    if (src === undefined || dst === undefined) return ctx.find("exec.dynamic-word", "copies between paths that are not literals");
    const bucket = (s: string) => /^s3:\/\//.test(s);
    if (bucket(dst))
      return ctx.find(
        bucket(src) ? "infra.change" : "net.upload",
        bucket(src) ? "copies between buckets" : "uploads local files to a bucket",
      );
    if (operation === "mv") ctx.find("infra.change", "removes the objects from the bucket");
    if (src === "-" || dst === "-") return ctx.find("local.read");
    const dest = ctx.parsed.positionals[operation === "cp" || operation === "sync" || operation === "mv" ? 3 : 2];
    if (dest) ctx.path(dest, ctx.parsed.has("--delete") ? "delete" : "write", { recursive: true });
    return ctx.find("local.network-read");
  }
  ctx.find("infra.change", `changes bucket state (aws s3 ${operation})`);
}

const GCLOUD_READ =
  /^(list|describe|get-[\w-]+|show[\w-]*|print-[\w-]+|read|tail|info|version|help|search|lookup|list-[\w-]+|describe-[\w-]+|check-[\w-]+|validate|test-iam-permissions|logs|explain|preview|get|query-[\w-]*|export|diff|status|whoami|current|find-[\w-]+|detect|estimate|analyze[\w-]*|access|ls|cat|du|hash|sign-url)$/;

/** `gcloud storage cp|rsync|mv SRC DST`: into the project is a download; into a bucket an upload; ls/cat/du read. */
function gcloudStorage(ctx: ToolContext, path: string[]): void {
  const op = path[1] ?? "";
  if (/^(ls|cat|du|hash|sign-url|buckets|objects|managed-folders|folders|operations|insights)$/.test(op)) {
    const sub = path[2] ?? "";
    if (op === "ls" || op === "cat" || op === "du" || op === "hash" || op === "sign-url" || /^(list|describe)$/.test(sub))
      return ctx.find("local.read");
    return ctx.find("infra.change", `changes bucket state (gcloud storage ${op} ${sub})`);
  }
  if (/^(cp|rsync|mv)$/.test(op)) {
    const ps = ctx.parsed.positionals.slice(2).filter((p) => !(p.value ?? "").startsWith("-"));
    if (ps.some((p) => p.value === undefined)) return ctx.find("net.upload", "copies between locations it computes");
    const dest = ps[ps.length - 1];
    const sources = ps.slice(0, -1);
    const remote = (v: string) => REMOTE_PATH.test(v);
    if (!dest || sources.length === 0) return ctx.find("exec.unknown-verb", `this form of gcloud storage ${op} is not known to be local`);
    if (remote(dest.value as string))
      return ctx.find(
        sources.every((s) => remote(s.value as string)) ? "infra.change" : "net.upload",
        `copies into a bucket (gcloud storage ${op})`,
      );
    if (op === "mv" && sources.some((s) => remote(s.value as string)))
      ctx.find("infra.change", "removes the objects it moves from the bucket");
    if (dest.value !== "-") {
      ctx.path(dest, op === "rsync" && ctx.parsed.has("--delete-unmatched-destination-objects") ? "delete" : "write", { recursive: true });
      ctx.wrote(dest, { kind: "download" });
    }
    return ctx.find("local.network-read");
  }
  ctx.find("infra.change", `changes bucket state (gcloud storage ${op})`);
}

export function gcloud(ctx: ToolContext): void {
  const ws = words(ctx);
  if (ws.length === 0 || ctx.parsed.has("--version")) return ctx.find("local.read");
  if (ws.some((w) => w === undefined)) return ctx.find("exec.dynamic-word", "names a gcloud command that is not a literal");
  const path = (ws as string[]).filter((w) => /^[a-z][\w-]*$/.test(w));
  const joined = path.join(" ");
  for (const o of ctx.inv.args) {
    // `--flags-file`, `--metadata-from-file k=PATH`, `--*-from-file=PATH`: files sent with the request.
    const m = /^--([\w-]*from-file|flags-file)=(.*)$/.exec(o.value ?? "");
    if (m)
      for (const part of (m[2] as string).split(",")) {
        const path = part.replace(/^[\w.-]+=/, "");
        if (path && ctx.classify(syntheticArg(path, o)) !== "inside")
          ctx.find("net.upload", `sends \`${path}\`, outside the project, with the request`);
      }
  }
  // Writing credentials into ~/.kube/config or ~/.ssh/config is user-global configuration.
  if (/\bget-credentials\b|^compute config-ssh\b|\bconfigure-docker\b/.test(joined))
    return ctx.find("sys.config", `writes user configuration (gcloud ${joined})`);
  if (path[0] === "storage") return gcloudStorage(ctx, path);
  if (
    /^(config set|config unset|config configurations (create|activate|delete)|auth (login|activate-service-account|revoke|application-default login|configure-docker)|init)\b/.test(
      joined,
    )
  )
    return ctx.find("sys.config");
  if (
    /^(auth (list|print-access-token|print-identity-token|application-default print-access-token)|config (list|get|get-value|configurations list|configurations describe)|info|version|help|components list|projects list)\b/.test(
      joined,
    )
  )
    return ctx.find("local.read");
  if (/^components (install|update|remove|reinstall)/.test(joined)) return ctx.find("pkg.install");
  if (/\b(ssh|scp|start-iap-tunnel|port-forward|connect)\b/.test(joined) || /^compute (ssh|scp)|^cloud-shell ssh/.test(joined))
    return ctx.find("net.remote-session");
  // The operation is the last word of the command path (before positional arguments such as resource names).
  const op = [...path]
    .reverse()
    .find(
      (w) =>
        GCLOUD_READ.test(w) ||
        /^(create|delete|update|set|add|remove|deploy|start|stop|reset|resize|patch|enable|disable|import|restore|rollback|run|submit|execute|call|publish|upload|cancel|apply|attach|detach|move|rename|replace|undelete|promote|failover|suspend|resume|invoke|sign-blob|deploy-[\w-]+|add-[\w-]+|remove-[\w-]+|set-[\w-]+|update-[\w-]+|create-[\w-]+|delete-[\w-]+)$/.test(
          w,
        ),
    );
  if (op && GCLOUD_READ.test(op)) return ctx.find("local.read");
  ctx.find("infra.change", `changes cloud state (gcloud ${joined})`);
}

const AZ_READ =
  /^(list|show|get|get-[\w-]+|list-[\w-]+|show-[\w-]+|query|version|help|check-[\w-]+|exists|wait|tail|download|browse|find|export|what-if|validate)$/;

export function az(ctx: ToolContext): void {
  fileParameters(ctx, /^@(?!@)/);
  // The command path is the words before the first option (later words are option values).
  const firstOption = ctx.inv.args.findIndex((a) => (a.value ?? a.prefix).startsWith("-"));
  const leading = new Set(firstOption < 0 ? ctx.inv.args : ctx.inv.args.slice(0, firstOption));
  const ws = ctx.parsed.positionals.filter((p) => leading.has(p)).map((p) => p.value);
  if (ws.length === 0 || ctx.parsed.has("--version")) return ctx.find("local.read");
  if (ws.some((w) => w === undefined)) return ctx.find("exec.dynamic-word", "names an az command that is not a literal");
  const path = (ws as string[]).filter((w) => /^[a-z][\w-]*$/.test(w));
  const joined = path.join(" ");
  if (
    /^(login|logout|account set|account clear|config set|configure|cloud set|acr login|aks get-credentials|extension add|extension remove|extension update|upgrade)\b/.test(
      joined,
    )
  )
    return ctx.find(/^extension|^upgrade/.test(joined) ? "pkg.install" : "sys.config");
  if (/^(account (show|list|get-access-token)|version|find|feedback|interactive)\b/.test(joined)) return ctx.find("local.read");
  if (/\bssh\b|\bbastion (ssh|tunnel|rdp)\b|\bport-forward\b|\bexec\b/.test(joined)) return ctx.find("net.remote-session");
  const op = path[path.length - 1] ?? "";
  if (AZ_READ.test(op)) return ctx.find("local.read");
  ctx.find("infra.change", `changes cloud state (az ${joined})`);
}

const REMOTE_PATH = /^(gs|s3|az|azure|b2|r2|wasb|abfs|oss|cos|swift|hdfs|https?):\/\/|^[A-Za-z][\w-]*:(?!\/\/)[^\s]*$/;

/** `gsutil cp`, `rclone sync`, `s3cmd put`, `mc mirror`: into the project is a download; into a bucket an upload; moves and syncs to a bucket change it. */
export function objectStore(ctx: ToolContext): void {
  const { parsed } = ctx;
  if (parsed.has("--dry-run", "-n")) return ctx.find("local.read", "a dry run");
  const verb = parsed.verbs[0] ?? "";
  const ps = parsed.positionals;
  if (ps.some((p) => p.value === undefined)) return ctx.find("net.upload", "copies between locations it computes");
  const paths = ps.map((p) => p.value as string);
  const remote = (v: string) => REMOTE_PATH.test(v) || (ctx.inv.program === "mc" && /^[\w-]+\/[\w.-]/.test(v) && !v.startsWith("."));
  const dest = verb === "get" ? (paths[1] ?? ".") : verb === "put" ? (paths[paths.length - 1] ?? "") : (paths[paths.length - 1] ?? "");
  const sources = verb === "get" ? paths.slice(0, 1) : paths.slice(0, -1);
  if (remote(dest))
    return ctx.find(
      sources.every(remote) ? "infra.change" : "net.upload",
      sources.every(remote) ? "copies between buckets" : "uploads local files to a bucket",
    );
  if (/^(mv|move|moveto)$/.test(verb) && sources.some(remote)) ctx.find("infra.change", "removes the objects it moves from the bucket");
  const destArg = verb === "get" ? ps[1] : ps[ps.length - 1];
  if (destArg) ctx.path(destArg, /^(sync|rsync|mirror)$/.test(verb) ? "delete" : "write", { recursive: true });
}

/** gh, glab and friends: `GROUP VERB`; reads are local, anything that changes the remote is clause 2. */
export function forge(ctx: ToolContext): void {
  const { parsed } = ctx;
  const ws = parsed.positionals.map((p) => p.value);
  if (ws.length === 0) return ctx.find("local.read");
  if (ws[0] === undefined || (ws[1] === undefined && ws.length > 1))
    return ctx.find("exec.dynamic-word", "names a forge command that is not a literal");
  const group = (ws[0] as string).replace(/^mr$/, "pr");
  const verb = ws[1] ?? "";
  if (/^(--version|version|help|completion|status|search)$/.test(group)) return ctx.find("local.read");
  if (group === "browse") return ctx.find(parsed.has("-n", "--no-browser") ? "local.read" : "exec.surface", "opens a browser");
  if (group === "api") {
    const method = (parsed.value("-X", "--method")?.value ?? "").toUpperCase();
    const writes =
      (method !== "" && method !== "GET" && method !== "HEAD") ||
      (method === "" && parsed.has("-f", "-F", "--field", "--raw-field", "--input"));
    return ctx.find(writes ? "remote.change" : "local.network-read", writes ? "sends a state-changing API request (gh api)" : undefined);
  }
  if (group === "auth") return ctx.find(/^(status|token)$/.test(verb) ? "local.read" : "sys.config");
  if (group === "config") return ctx.find(/^(get|list)$/.test(verb) ? "local.read" : "sys.config");
  if (group === "extension" || group === "ext") return ctx.find(/^(list|ls|browse|search)$/.test(verb) ? "local.read" : "pkg.install");
  if (group === "alias") return ctx.find(verb === "list" ? "local.read" : "sys.config");
  if (group === "repo" && verb === "clone") {
    const [, , url, dir] = parsed.positionals;
    const target =
      dir ??
      (url?.value
        ? {
            ...url,
            value: url.value
              .replace(/\.git$/, "")
              .split("/")
              .pop(),
          }
        : undefined);
    if (target) {
      ctx.path(target as typeof url & object, "write");
      ctx.wrote(target as typeof url & object, { kind: "download" });
    }
    return ctx.find("local.network-read");
  }
  if (group === "pr" && verb === "checkout") return ctx.find("local.git");
  if (/^(run|release|gist|attestation|cache)$/.test(group) && verb === "download") return forgeDownload(ctx);
  if (group === "gist" && verb === "clone") {
    const [, , id, dir] = parsed.positionals;
    const target = dir ?? id;
    if (target) {
      ctx.path(target, "write");
      ctx.wrote(target, { kind: "download" });
    }
    return ctx.find("local.network-read");
  }
  if (group === "codespace" && /^(ssh|code|cp|jupyter|ports)$/.test(verb)) return ctx.find("net.remote-session");
  if (/^(list|ls|view|show|status|checks|diff|watch|verify|search|get|inspect|logs|log)$/.test(verb)) return ctx.find("local.read");
  ctx.find("remote.change", `changes the remote (${ctx.inv.program} ${group} ${verb})`);
}

const PROVIDER_READ =
  /^((list|get|describe|show|print|read|check|find|search|query)-[\w-]+|[\w-]+-(view|show|list|info|status)|validate|lint|template|render|fmt-check|synth|ip|ssh-config|url|docker-env|podman-env|kubeconfig|global-status|list|ls|get|show|status|logs?|info|describe|whoami|version|--version|help|account|apps|ps|config|releases|regions|sizes|inspect|history|diff|top|plan|preview|outputs?|stats|metrics|images|domains|certs|addons|dynos|env|secrets-list|view|search|check|doctor|ping|tail|find|query|export|dump|read|current|context)$/;

/** Provider CLIs (`doctl compute droplet list`, `heroku config:get X`, `fly status`): a read verb anywhere on the command path is read; anything else changes state. */
export function cloudVerbs(ctx: ToolContext): void {
  const ws = words(ctx);
  if (ws.length === 0 || ctx.parsed.has("--version", "-v", "--help", "-h")) return ctx.find("local.read");
  if (ws.some((w) => w === undefined)) return ctx.find("exec.dynamic-word", "names a command that is not a literal");
  const path = (ws as string[]).filter((w) => /^[a-z][\w:-]*$/.test(w)).flatMap((w) => w.split(":"));
  if (path.some((w) => /^(login|logout|link|unlink|auth)$/.test(w))) return ctx.find("sys.config");
  if (path.some((w) => /^(ssh|console|shell|exec|attach|port-forward|proxy|tunnel|connect)$/.test(w)))
    return ctx.find("net.remote-session");
  if (ctx.inv.program === "skopeo" && path[0] === "copy") {
    const dest = ctx.parsed.positionals[ctx.parsed.positionals.length - 1];
    const v = dest?.value ?? "";
    if (/^(dir|oci|oci-archive|docker-archive):/.test(v)) {
      ctx.path(syntheticArg(v.replace(/^[\w-]+:/, "").replace(/:[^/]*$/, ""), dest), "write");
      return ctx.find("local.network-read");
    }
  }
  if (path.some((w) => /^(open|dashboard|browse)$/.test(w))) return ctx.find("exec.surface", "opens a browser");
  // Saving cluster credentials into ~/.kube/config (and switching contexts) is user-global configuration.
  const flags = ctx.inv.args.map((a) => a.value ?? "");
  if (
    path.some((w) =>
      /^(get-credentials|update-kubeconfig|write-kubeconfig|create-kubeconfig|update-context|use-context|switch-context)$/.test(w),
    ) ||
    (path.some((w) => /kubeconfig|^config$|^credentials$|^kube-?config$/.test(w)) &&
      (path.some((w) => /^(save|merge|write|install|export|use|switch|set)$/.test(w)) ||
        flags.some((f) =>
          /^--(save|merge|switch-context|set-current-context|kubeconfig-update-default|kubeconfig-switch-context)(=(?!false).*)?$/.test(f),
        )))
  )
    return ctx.find("sys.config", `writes cluster credentials or contexts into user configuration (${ctx.inv.program} ${path.join(" ")})`);
  if (ctx.inv.program === "packer" && (path[0] === "init" || (path[0] === "plugins" && /^(install|required)$/.test(path[1] ?? ""))))
    return ctx.find("pkg.install", "installs Packer plugins");
  if (path[0] === "init") return ctx.find("local.project-write", "writes a configuration file into the project");
  const changes = path.some((w) =>
    /^(create|delete|destroy|deploy|update|set|unset|add|remove|rm|scale|restart|stop|start|run|push|apply|import|restore|resize|rollback|promote|release|attach|detach|cancel|enable|disable|upgrade|rename|move|reset|rotate|revoke|grant|invite|transfer|publish|sync|execute|invoke|trigger|kill|suspend|resume|migrate|seed|new|init)$/.test(
      w,
    ),
  );
  if (!changes && path.some((w) => PROVIDER_READ.test(w))) return ctx.find("local.read");
  ctx.find("infra.change", `changes remote state (${ctx.inv.program} ${path.join(" ")})`);
}

/** `docker cp SRC DEST`: into a container changes it; out of a container into the project is a write. */
export function containerCopy(ctx: ToolContext): void {
  const [src, dest] = ctx.parsed.positionals;
  if (!src || !dest || dest.value === undefined || src.value === undefined)
    return ctx.find("infra.change", "copies between a container and a path it computes");
  const inContainer = (v: string) => /^[\w.-]+(\/[\w.-]+)?:/.test(v) && !/^\.{0,2}\//.test(v);
  if (inContainer(dest.value)) return ctx.find("infra.change", "copies files into a container");
  if (dest.value !== "-") {
    ctx.path(dest, "write");
    // Out of a container: a download (running it later on the line is download-and-run).
    if (inContainer(src.value)) ctx.wrote(dest, { kind: "download" });
  }
}

const KUBE_HOME = /^(~|\$HOME|\$\{HOME\}|\/home\/[^/]+|\/root|\/Users\/[^/]+)\/\.kube(\/|$)/;

/**
 * `--kubeconfig FILE` (kubectl, helm): a kubeconfig can run exec credential plugins, so one outside
 * the project (and outside ~/.kube) is a program from outside (clause 8).
 */
export function kubeconfig(ctx: ToolContext): void {
  const args = ctx.inv.args;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Arg;
    const text = a.value ?? a.prefix;
    let file: Arg | undefined;
    if (text === "--kubeconfig") file = args[i + 1];
    else if (text.startsWith("--kubeconfig="))
      file = a.value !== undefined ? syntheticArg(a.value.slice(13), a) : syntheticArg(undefined, a);
    if (!file) continue;
    const v = file.value;
    if (v === undefined) {
      ctx.find("exec.surface", "loads a kubeconfig (which can run credential plugins) from a path it computes");
      continue;
    }
    if (KUBE_HOME.test(v) || (file.tilde && /^~?\/?\.kube(\/|$)/.test(v.replace(/^~\//, "")))) continue;
    if (ctx.classify(file) !== "inside")
      ctx.find("exec.surface", `loads a kubeconfig (which can run credential plugins) from \`${v}\`, outside the project`);
  }
}

/** Docker contexts that are this machine. */
const LOCAL_CONTEXTS =
  /^(default|desktop-linux|desktop-windows|colima|colima-[\w-]+|rancher-desktop|orbstack|podman|rootless|lima|lima-[\w-]+|minikube|kind-[\w-]+)$/;

/** `docker -H HOST`, `--host`, `--context`: a daemon on another host is a remote session (clause 7). */
export function dockerHost(ctx: ToolContext): void {
  for (const o of ctx.parsed.options) {
    if (!/^(-H|--host|-c|--context|--url|--connection)$/.test(o.name) || !o.value) continue;
    const v = o.value.value;
    if (v === undefined) {
      ctx.find("net.remote-session", "talks to a Docker daemon it computes");
      continue;
    }
    if (o.name === "-c" || o.name === "--context" || o.name === "--connection") {
      if (!LOCAL_CONTEXTS.test(v))
        ctx.find("net.remote-session", `talks to the Docker daemon of context \`${v}\`, which may be another host`);
      continue;
    }
    if (/^(unix|npipe|fd):\/\//i.test(v) || LOCALHOST.test(v) || v.startsWith("/")) continue;
    ctx.find("net.remote-session", `talks to a Docker daemon on ${v}`);
  }
}

/**
 * `gh release download`, `gh run download`, `gh gist clone` …: what they write is a download, so
 * running it later on the line is download-and-run (clause 4). `-O FILE` names the file, `-D DIR`
 * the directory; otherwise the assets land in the current directory.
 */
function forgeDownload(ctx: ToolContext): void {
  const { parsed } = ctx;
  const output = parsed.value("-O", "--output");
  const dir = parsed.value("-D", "--dir");
  if (output && output.value !== "-") {
    ctx.path(output, "write");
    ctx.wrote(output, { kind: "download" });
  } else if (dir) {
    ctx.path(dir, "write", { recursive: true });
    ctx.wrote(dir, { kind: "download" });
    for (const p of parsed.options.filter((o) => /^(-p|--pattern)$/.test(o.name) && o.value?.value !== undefined))
      if (!/[*?[]/.test(p.value?.value as string))
        ctx.wrote(syntheticArg(`${dir.value ?? "."}/${p.value?.value}`, p.value), { kind: "download" });
  } else {
    // Into the current directory: the named assets, or whatever the patterns match.
    ctx.wrote(syntheticArg("."), { kind: "download" });
    for (const p of parsed.options.filter((o) => /^(-p|--pattern|-n|--name)$/.test(o.name) && o.value?.value !== undefined))
      if (!/[*?[]/.test(p.value?.value as string)) ctx.wrote(syntheticArg(p.value?.value as string, p.value), { kind: "download" });
  }
  ctx.find("local.network-read");
}
