import type { ToolContext } from "../engine/context.js";
import { syntheticArg } from "../engine/words.js";
import type { FindingId } from "../findings.js";

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

export function aws(ctx: ToolContext): void {
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
  /^(list|describe|get-[\w-]+|show[\w-]*|print-[\w-]+|read|tail|info|version|help|search|lookup|list-[\w-]+|describe-[\w-]+|check-[\w-]+|validate|test-iam-permissions|logs|explain|preview|get|query-[\w-]*|export|diff|status|whoami|current|find-[\w-]+|detect|estimate|analyze[\w-]*)$/;

export function gcloud(ctx: ToolContext): void {
  const ws = words(ctx);
  if (ws.length === 0 || ctx.parsed.has("--version")) return ctx.find("local.read");
  if (ws.some((w) => w === undefined)) return ctx.find("exec.dynamic-word", "names a gcloud command that is not a literal");
  const path = (ws as string[]).filter((w) => /^[a-z][\w-]*$/.test(w));
  const joined = path.join(" ");
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
  const ws = words(ctx);
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
  if (/^(run|release|gist|attestation|cache)$/.test(group) && verb === "download") return ctx.find("local.network-read");
  if (group === "codespace" && /^(ssh|code|cp|jupyter|ports)$/.test(verb)) return ctx.find("net.remote-session");
  if (/^(list|ls|view|show|status|checks|diff|watch|verify|search|get|inspect|logs|log)$/.test(verb)) return ctx.find("local.read");
  ctx.find("remote.change", `changes the remote (${ctx.inv.program} ${group} ${verb})`);
}

const PROVIDER_READ =
  /^((list|get|describe|show|print|read|check|find|search|query)-[\w-]+|synth|ip|ssh-config|url|docker-env|podman-env|kubeconfig|global-status|list|ls|get|show|status|logs?|info|describe|whoami|version|--version|help|account|apps|ps|config|releases|regions|sizes|inspect|history|diff|top|plan|preview|outputs?|stats|metrics|images|domains|certs|addons|dynos|env|secrets-list|view|search|check|doctor|ping|tail|find|query|export|dump|read|current|context)$/;

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
  if (/^[\w.-]+:/.test(dest.value)) return ctx.find("infra.change", "copies files into a container");
  if (dest.value !== "-") ctx.path(dest, "write");
}
