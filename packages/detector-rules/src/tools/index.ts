import { tools as cloud } from "./cloud.js";
import { tools as containers } from "./containers.js";
import { tools as databases } from "./databases.js";
import { tools as files } from "./files.js";
import { tools as git } from "./git.js";
import { tools as interpreters } from "./interpreters.js";
import { tools as javascript } from "./javascript.js";
import { tools as languages } from "./languages.js";
import { tools as network } from "./network.js";
import { tools as python } from "./python.js";
import { tools as shells } from "./shells.js";
import type { Level, Tool } from "./spec.js";
import { tools as system } from "./system.js";
import { tools as utilities } from "./utilities.js";
import { tools as wrappers } from "./wrappers.js";

/** Every tool the detector knows, by family. A name belongs to exactly one tool. */
export const BUILTIN_TOOLS: readonly Tool[] = [
  ...shells,
  ...wrappers,
  ...utilities,
  ...files,
  ...interpreters,
  ...git,
  ...javascript,
  ...python,
  ...languages,
  ...system,
  ...containers,
  ...cloud,
  ...databases,
  ...network,
];

const LOCAL_READ = new Set(["local.read", "local.network-read", "local.pkg-read", "local.session"]);

/** Tools by command name, with version suffixes folded (`python3.12` → `python3`, `gcc-13` → `gcc`). */
export class ToolIndex {
  private readonly byName = new Map<string, Tool>();
  private readonly byPath = new Map<string, Tool>();
  private readonly riskyCache = new Map<Tool, boolean>();

  constructor(readonly tools: readonly Tool[] = BUILTIN_TOOLS) {
    for (const tool of tools) {
      for (const name of tool.names) {
        const existing = this.byName.get(name);
        if (existing && existing !== tool)
          throw new Error(`detector-rules: "${name}" is named by two tools (${existing.about} / ${tool.about})`);
        this.byName.set(name, tool);
      }
      for (const name of tool.pathNames ?? []) this.byPath.set(name, tool);
    }
  }

  /** A tool run by a path (`./gradlew`, `/usr/bin/python3`). */
  getByPath(name: string): Tool | undefined {
    return this.byPath.get(name) ?? this.get(name);
  }

  get(name: string): Tool | undefined {
    const exact = this.byName.get(name);
    if (exact) return exact;
    const folded = name.replace(/[-_]?\d+(\.\d+)*$/, "");
    if (folded !== name && folded !== "") {
      const tool = this.byName.get(folded);
      // Only tools that are versioned that way (interpreters, compilers, package managers).
      if (tool?.versioned) return tool;
    }
    return undefined;
  }

  /** Whether quotes in this tool's name are a disguise: it can do more than read. */
  risky(tool: Tool): boolean {
    if (tool.risky !== undefined) return tool.risky;
    const cached = this.riskyCache.get(tool);
    if (cached !== undefined) return cached;
    const visit = (level: Level): boolean => {
      if (level.handler || level.command !== undefined) return true;
      if (level.is && !LOCAL_READ.has(level.is)) return true;
      if (level.bare && !LOCAL_READ.has(level.bare)) return true;
      if (level.positionals === "write" || level.positionals === "delete" || level.positionals === "last-written") return true;
      for (const w of level.when ?? []) if (!LOCAL_READ.has(w.is)) return true;
      for (const effect of Object.values(level.options ?? {}))
        if (
          effect !== "value" &&
          effect !== "read" &&
          !(typeof effect === "object" && ("values" in effect || effect.flag === "none" || LOCAL_READ.has(effect.flag)))
        )
          return true;
      for (const v of Object.values(level.verbs ?? {})) if (typeof v === "string" ? !LOCAL_READ.has(v) : visit(v)) return true;
      return false;
    };
    const risky = visit(tool);
    this.riskyCache.set(tool, risky);
    return risky;
  }
}
