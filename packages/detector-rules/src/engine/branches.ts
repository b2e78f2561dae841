// The shell state along several paths (analyzer.ts): `if`/`case` branches, `&&`/`||` lists and
// loops end in different states, which are merged so that what may differ becomes unknown and
// every directory the shell may be in stays possible.
import type { Scope } from "./scope.js";

/** How many nested loops are walked a second time when their first pass changes the state. */
const LOOPS_DEPTH = 6;

/** The state a path ends in: directory, other possible directories, variables. */
export interface Snapshot {
  dir: string | undefined;
  alt: (string | undefined)[];
  vars: Map<string, string | undefined | null>;
}

export function snapshot(scope: Scope): Snapshot {
  return { dir: scope.dir, alt: scope.alt, vars: new Map(scope.vars) };
}

function sameState(a: Snapshot, b: Snapshot): boolean {
  if (a.dir !== b.dir || a.vars.size !== b.vars.size) return false;
  for (const [k, v] of a.vars) if (!b.vars.has(k) || b.vars.get(k) !== v) return false;
  return true;
}

/** The state after one of several paths: variables that differ become unknown; directories all stay possible. */
export function merge(scope: Scope, ends: readonly Snapshot[]): void {
  if (ends.length === 0) return;
  const last = ends[ends.length - 1] as Snapshot;
  const names = new Set<string>();
  for (const e of ends) for (const k of e.vars.keys()) names.add(k);
  for (const name of names) {
    const first = ends[0]?.vars.has(name) ? ends[0].vars.get(name) : "\u0000absent";
    const same = ends.every((e) => (e.vars.has(name) ? e.vars.get(name) : "\u0000absent") === first);
    if (same) {
      if (first === "\u0000absent") scope.vars.delete(name);
      else scope.vars.set(name, first as string | undefined | null);
    } else scope.vars.set(name, undefined);
  }
  const dirs: (string | undefined)[] = [];
  for (const e of ends) for (const d of [e.dir, ...e.alt]) if (!dirs.includes(d)) dirs.push(d);
  scope.dir = last.dir;
  const others = dirs.filter((d) => d !== last.dir);
  scope.alt = others.length > 4 ? [...others.slice(0, 3), undefined] : others;
}

/** A loop body runs zero or more times: judged from the entry state, then again if it changes state. */
export function loop(scope: Scope, body: (inner: Scope) => void): void {
  const entry = snapshot(scope);
  const first = scope.clone();
  body(first);
  const after = snapshot(first);
  merge(scope, [entry, after]);
  if (!sameState(entry, after) && scope.depth < LOOPS_DEPTH) {
    const second = scope.clone();
    body(second);
    merge(scope, [snapshot(scope), snapshot(second)]);
  }
}
