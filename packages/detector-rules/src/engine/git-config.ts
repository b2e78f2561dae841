import type { FindingId } from "../findings.js";
import { GIT_CONFIG_KEYS, type GitConfigEffect } from "../tools/git.js";
import type { PathClass } from "./paths.js";
import { type Arg, syntheticArg } from "./words.js";

/** What judging a git configuration needs from the engine. */
export interface GitConfigJudge {
  find(id: FindingId, what?: string): void;
  shell(code: Arg): void;
  commandText(text: Arg): void;
  program(value: Arg): void;
  classify(arg: Arg): PathClass;
}

function effectOf(key: string): GitConfigEffect | undefined {
  const lower = key.toLowerCase();
  const parts = lower.split(".");
  const section = parts[0] ?? "";
  const last = parts[parts.length - 1] ?? "";
  // Exact keys, then `section.*.name` patterns (subsections are free text), then whole sections.
  const exact = GIT_CONFIG_KEYS[lower];
  if (exact) return exact;
  if (parts.length >= 3) {
    const pattern = GIT_CONFIG_KEYS[`${section}.*.${last}`];
    if (pattern) return pattern;
  }
  return GIT_CONFIG_KEYS[`${section}.*`];
}

/**
 * A git configuration `key=value` (from `git -c`, `git config KEY VALUE`, a config file the line
 * wrote, or `GIT_CONFIG_*`): judged by what the key makes git do. Deny by default: a key the
 * table does not know goes to the sandbox.
 */
export function judgeGitConfig(key: string, value: Arg | undefined, judge: GitConfigJudge): void {
  const effect = effectOf(key);
  const v = value?.value;
  if (!effect) return judge.find("exec.surface", `sets git configuration \`${key}\`, which is not known to be harmless`);
  if (effect === "safe") return;
  if (value === undefined) {
    // `-c key` alone means true; harmless for keys whose value is a program.
    return;
  }
  if (v === undefined) return judge.find("exec.surface", `sets git configuration \`${key}\` to something the detector cannot see`);
  switch (effect) {
    case "shell":
      if (/^(true|false|yes|no|on|off|1|0)?$/i.test(v)) return;
      return judge.shell(syntheticArg(v, value));
    case "shell-or-bool":
      if (/^(true|false|yes|no|on|off|1|0)?$/i.test(v)) return;
      return judge.shell(syntheticArg(v, value));
    case "command":
      return judge.commandText(syntheticArg(v, value));
    case "program":
      if (/^(true|false|yes|no|on|off|1|0)?$/i.test(v)) return;
      return judge.program(syntheticArg(v, value));
    case "alias":
      if (v.startsWith("!")) return judge.shell(syntheticArg(v.slice(1), value));
      return judge.commandText(syntheticArg(`git ${v}`, value));
    case "credential-helper":
      if (v === "" || /^(store|cache|osxkeychain|manager|manager-core|libsecret|wincred|gnome-keyring)(\s+--timeout[= ]\d+)?$/.test(v))
        return;
      if (v.startsWith("!")) return judge.shell(syntheticArg(v.slice(1), value));
      return judge.program(syntheticArg(v.includes("/") ? v : `git-credential-${v}`, value));
    case "url": {
      if (/^(ext|fd)::/i.test(v)) judge.find("exec.surface", "points git at a transport that runs a command (ext::)");
      return;
    }
    case "path": {
      const cls = judge.classify(syntheticArg(v, value));
      if (cls !== "inside") judge.find("exec.surface", `makes git load hooks, templates or configuration from ${v}`);
      return;
    }
    case "write": {
      const cls = judge.classify(syntheticArg(v, value));
      if (cls !== "inside" && cls !== "tmp" && cls !== "null" && !/^(true|false|1|0|[0-9])$/.test(v))
        judge.find("fs.write-outside", `makes git write ${v}`);
      return;
    }
    case "submodule-update":
      if (v.startsWith("!")) return judge.shell(syntheticArg(v.slice(1), value));
      return;
    case "protocol":
      if (/^always$/i.test(v) && /^protocol\.(ext|fd)\./i.test(key))
        judge.find("exec.surface", "allows a git transport that runs commands");
      return;
    default:
      return judge.find(effect, `sets git configuration \`${key}\``);
  }
}
