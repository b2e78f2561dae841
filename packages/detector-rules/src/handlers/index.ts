import type { ToolContext } from "../engine/context.js";
import { aws, az, cloudVerbs, containerCopy, forge, gcloud, objectStore } from "./cloud.js";
import { database } from "./db.js";
import { archiver, chmod, compress, copy, dd, extract, lastOutput, rm, tar, tee, zip } from "./files.js";
import { fd, find } from "./find.js";
import { git, gitConfig } from "./git.js";
import { denoRun, interpreter, python } from "./interpreters.js";
import { grpc, http, loadTest, lookup, netcat, remoteCopy, scanTarget, ssh, sshKeygen } from "./network.js";
import {
  buildGoals,
  buildInstallTargets,
  cmake,
  corepack,
  goRun,
  make,
  nestedCommand,
  npmInit,
  npmScripts,
  pacman,
  uvRun,
  yarnNode,
} from "./packages.js";
import { alias, cd, declare, printf, read, set, shopt, unknownVariables, unset } from "./session.js";
import {
  busybox,
  commandBuiltin,
  entr,
  nodemon,
  scriptSession,
  shell,
  shellJoined,
  shellPositionals,
  source,
  trap,
  watch,
} from "./shell.js";
import { crontab, date, debugger_, hostname, ifconfig, inPlace, ip, kill, launcher, mount, splitFilter, sysctl } from "./system.js";
import { awk, dc, ed, emacs, pager, sed, vim } from "./text.js";
import { chdirCommand, env, parallel, sopsExec, taskset, xargs } from "./wrappers.js";

/** A handler judges what a tool's data cannot: see engine/context.ts for what it may call. */
export type Handler = (ctx: ToolContext) => void;

/**
 * Every handler, by the name tool data uses (`handler: "tar"`). To add one: write it in the file
 * of its family (or a new file), export it, and list it here.
 */
export const HANDLERS = {
  alias,
  awk,
  archiver,
  aws,
  az,
  "build-goals": buildGoals,
  "build-install-targets": buildInstallTargets,
  busybox,
  cd,
  "chdir-command": chdirCommand,
  "command-builtin": commandBuiltin,
  chmod,
  "cloud-verbs": cloudVerbs,
  cmake,
  compress,
  "container-copy": containerCopy,
  copy,
  corepack,
  crontab,
  database,
  date,
  dc,
  dd,
  debugger: debugger_,
  declare,
  "deno-run": denoRun,
  ed,
  emacs,
  entr,
  env,
  extract,
  fd,
  find,
  forge,
  gcloud,
  git,
  "go-run": goRun,
  "git-config": gitConfig,
  grpc,
  hostname,
  http,
  ifconfig,
  "in-place": inPlace,
  interpreter,
  ip,
  kill,
  "last-output": lastOutput,
  launcher,
  "load-test": loadTest,
  lookup,
  make,
  mount,
  netcat,
  "object-store": objectStore,
  nodemon,
  "npm-init": npmInit,
  "npm-scripts": npmScripts,
  pacman,
  "pnpm-recursive": nestedCommand,
  pager,
  parallel,
  printf,
  python,
  read,
  "remote-copy": remoteCopy,
  "scan-target": scanTarget,
  "script-session": scriptSession,
  rm,
  sed,
  set,
  shell,
  "shell-joined": shellJoined,
  "shell-positionals": shellPositionals,
  shopt,
  "split-filter": splitFilter,
  "sops-exec": sopsExec,
  source,
  ssh,
  "ssh-keygen": sshKeygen,
  sysctl,
  tar,
  taskset,
  tee,
  trap,
  "unknown-variables": unknownVariables,
  unset,
  "uv-run": uvRun,
  vim,
  watch,
  xargs,
  "yarn-node": yarnNode,
  "yarn-workspaces": nestedCommand,
  zip,
} satisfies Record<string, Handler>;

export type HandlerName = keyof typeof HANDLERS;
