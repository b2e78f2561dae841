import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { DEFAULT_CONFIG_FILE, InvalidRequestError, listTrusted, projectPluginFiles, trustFiles, untrustFiles } from "@stigmer/core";
import { type OptionSpec, parseArgs } from "../args.js";
import { bundledPlugins } from "../plugins.js";
import { CLI_PRESET } from "../preset.js";
import { reportError } from "../report-error.js";

export const TRUST_HELP = `Usage: stigmer trust [FILE...]
       stigmer trust --list
       stigmer trust --revoke FILE...

Stigmer loads no configuration or plugin module from a project directory until you have trusted
it: a sandboxed command can write in the project, and the host would then run what it wrote. Trust
is given to a file's current content; a changed file must be reviewed and trusted again.

With no FILE, trusts ./stigmer.config.json and the plugin modules it names that would be loaded
from this directory. Review them first.

Options:
  --list      list the trusted files, and whether they changed since
  --revoke    forget the trust given to these files`;

const SPECS: Record<string, OptionSpec> = {
  list: { type: "boolean" },
  revoke: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** Plugin names a config file mentions (backends, detector, plugin option sections). */
function pluginNames(file: string): string[] {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch {
    return [];
  }
  const sandbox = (data.sandbox ?? {}) as Record<string, unknown>;
  return [sandbox.backend, data.localBackend, data.detector, ...Object.keys((data.plugins ?? {}) as object)].filter(
    (name): name is string => typeof name === "string",
  );
}

export async function trustCommand(argv: readonly string[]): Promise<number> {
  try {
    const { options, rest } = parseArgs(argv, SPECS, "trust");
    if (options.help) {
      process.stdout.write(`${TRUST_HELP}\n`);
      return 0;
    }
    if (options.list) {
      const rows = listTrusted();
      if (rows.length === 0) process.stdout.write("no trusted files\n");
      for (const row of rows) process.stdout.write(`${row.current ? "trusted" : "CHANGED"}  ${row.path}  (since ${row.trustedAt})\n`);
      return 0;
    }
    if (options.revoke) {
      if (rest.length === 0) throw new InvalidRequestError("Name the files to forget: stigmer trust --revoke FILE...");
      const removed = untrustFiles(rest.map((f) => resolve(f)));
      for (const path of removed) process.stdout.write(`no longer trusted: ${path}\n`);
      if (removed.length < rest.length) process.stderr.write("stigmer: some of these files were not trusted\n");
      return 0;
    }
    const files = rest.length > 0 ? rest.map((f) => resolve(f)) : [resolve(DEFAULT_CONFIG_FILE)];
    const targets = [...files];
    for (const file of files) {
      if (file.endsWith(".json"))
        targets.push(...(await projectPluginFiles(pluginNames(file), { modules: bundledPlugins, aliases: CLI_PRESET.aliases ?? {} })));
    }
    let trusted: string[];
    try {
      trusted = trustFiles([...new Set(targets)]);
    } catch (error) {
      throw new InvalidRequestError(`Cannot trust ${targets.join(", ")}: ${(error as Error).message}.`, { cause: error });
    }
    for (const path of trusted) process.stdout.write(`trusted: ${path}\n`);
    return 0;
  } catch (error) {
    return reportError(error);
  }
}
