import { createHash } from "node:crypto";
import { readFileSync, realpathSync, statSync } from "node:fs";
import { join, sep } from "node:path";
import { UntrustedConfigError } from "./errors.js";
import { stateDir, writePrivateFile } from "./state-dir.js";

/**
 * The trust store: files Stigmer may load although a sandbox could have written them (a project's
 * `stigmer.config.json`, a plugin module inside the project). Like `direnv allow`, trust is given
 * to a path **and its content**: a changed file is untrusted again until the user reviews it and
 * runs `stigmer trust` once more. Kept in the state directory, which no sandbox can reach.
 */

interface TrustRecord {
  sha256: string;
  trustedAt: string;
}
interface TrustFile {
  version: 1;
  files: Record<string, TrustRecord>;
}

// A caller's partial environment (resolveConfig's `env` option) still uses this process's state directory.
const trustFile = (env?: Record<string, string | undefined>) =>
  join(stateDir(env?.STIGMER_STATE_DIR || env?.XDG_STATE_HOME ? env : process.env), "trust.json");

function load(env?: Record<string, string | undefined>): TrustFile {
  try {
    const data = JSON.parse(readFileSync(trustFile(env), "utf8")) as TrustFile;
    if (data && data.version === 1 && typeof data.files === "object" && data.files !== null) return data;
  } catch {
    // no trust store yet, or an unreadable one: nothing is trusted
  }
  return { version: 1, files: {} };
}

function digest(content: Uint8Array | string): string {
  return createHash("sha256").update(content).digest("hex");
}

function realPath(path: string): string {
  return realpathSync(path);
}

/** True when `path` is inside `dir` (both real paths). */
export function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);
}

/** True when the file at `path` has exactly the content the user trusted. */
export function isTrusted(path: string, content: Uint8Array | string, env?: Record<string, string | undefined>): boolean {
  const record = load(env).files[realPath(path)];
  return record !== undefined && record.sha256 === digest(content);
}

/** Trusts the current content of each file. Returns their real paths. */
export function trustFiles(paths: readonly string[], env?: Record<string, string | undefined>): string[] {
  const data = load(env);
  const done: string[] = [];
  for (const path of paths) {
    const real = realPath(path);
    if (!statSync(real).isFile()) throw new Error(`${real} is not a file`);
    data.files[real] = { sha256: digest(readFileSync(real)), trustedAt: new Date().toISOString() };
    done.push(real);
  }
  writePrivateFile(trustFile(env), `${JSON.stringify(data, null, 2)}\n`);
  return done;
}

/** Forgets the trust given to each file. Returns the paths that were trusted. */
export function untrustFiles(paths: readonly string[], env?: Record<string, string | undefined>): string[] {
  const data = load(env);
  const removed: string[] = [];
  for (const path of paths) {
    let key = path;
    try {
      key = realPath(path);
    } catch {
      // a file that is gone can still be forgotten by the path it was trusted under
    }
    if (data.files[key]) {
      delete data.files[key];
      removed.push(key);
    }
  }
  writePrivateFile(trustFile(env), `${JSON.stringify(data, null, 2)}\n`);
  return removed;
}

/** Every trusted file, with when it was trusted and whether its content is still the trusted one. */
export function listTrusted(env?: Record<string, string | undefined>): Array<{ path: string; trustedAt: string; current: boolean }> {
  return Object.entries(load(env).files).map(([path, record]) => {
    let current = false;
    try {
      current = digest(readFileSync(path)) === record.sha256;
    } catch {
      // gone or unreadable
    }
    return { path, trustedAt: record.trustedAt, current };
  });
}

/**
 * Throws `UNTRUSTED_CONFIG` unless the file at `path`, whose content is `content`, is trusted.
 * `what` names it in the message ("Config file", "Plugin module").
 */
export function requireTrusted(path: string, content: Uint8Array | string, what: string, env?: Record<string, string | undefined>): void {
  if (isTrusted(path, content, env)) return;
  const real = realPath(path);
  const known = load(env).files[real] !== undefined;
  throw new UntrustedConfigError(
    `${what} ${real} ${known ? "changed since you trusted it" : "is not trusted"}: it lies in a project directory, where a sandboxed command could have written it. Review it, then run "stigmer trust ${real}" to load it.`,
    { details: { file: real, changed: known } },
  );
}
