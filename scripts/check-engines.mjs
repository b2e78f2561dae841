// Checks that every package the published packages depend on — dependencies, and devDependencies
// too, since scripts/bundle.mjs bundles some of them (fastify into @stigmer/server) — declares Node
// engines that accept every supported Node version: the oldest (package.json's engines) and the
// newest majors CI runs. npm prints EBADENGINE for a package that does not, and the package may
// rely on what only newer Nodes have. Exits 1 listing the offenders, with the path that pulls them.
//
// Usage: node scripts/check-engines.mjs [VERSION...]   (default: the minimum and 26.0.0)
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import semver from "semver";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const minimum = semver.minVersion(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).engines.node).version;
const versions = process.argv.length > 2 ? process.argv.slice(2) : [minimum, "26.0.0"];

const projects = JSON.parse(
  execFileSync("pnpm", ["list", "--recursive", "--depth", "Infinity", "--json", "--filter", "./packages/*"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 1 << 30,
  }),
);

const offenders = new Map();
let checked = 0;
const seen = new Set();
function visit(deps, via) {
  for (const [name, info] of Object.entries(deps ?? {})) {
    if (!info.path) continue;
    const key = `${name}@${info.version}`;
    const chain = [...via, key];
    // Workspace packages (link:) are ours; what they pull in is checked. pnpm lists a package's
    // dependencies once (later copies are "deduped"), wherever it meets it first.
    if (!info.version?.startsWith("link:") && !seen.has(key)) {
      seen.add(key);
      checked++;
      const range = JSON.parse(readFileSync(join(info.path, "package.json"), "utf8")).engines?.node;
      const refused = range ? versions.filter((v) => !semver.satisfies(v, range)) : [];
      if (refused.length > 0) offenders.set(key, { range, refused, chain });
    }
    visit(info.dependencies, chain);
  }
}
for (const project of projects) {
  if (project.private) continue;
  visit({ ...project.dependencies, ...project.devDependencies }, [project.name]);
}

if (offenders.size > 0) {
  process.stderr.write(`check-engines: ${offenders.size} package(s) refuse a supported Node version (${versions.join(", ")}):\n`);
  for (const [key, { range, refused, chain }] of offenders) {
    process.stderr.write(`  ${key}: engines.node "${range}" excludes ${refused.join(", ")} (via ${chain.join(" > ")})\n`);
  }
  process.exit(1);
}
process.stdout.write(`check-engines: ${checked} packages accept Node ${versions.join(", ")}\n`);
