// Bundles each published package's compiled output (dist/, from `tsc --build`) with its runtime
// dependencies into dist/bundle/, which is what the packages' `exports` point at.
//
// Why: Node 20 has no module compile cache, and resolving and compiling hundreds of small files
// (execa, pino, tsyringe) costs ~200 ms at every CLI start. One file per package loads in a
// fraction of that. Packages stay separate (peer dependencies and other @stigmer packages are
// external), so there is still exactly one @stigmer/core — and one tsyringe — in a process.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

const PACKAGES = [
  { dir: "packages/core", entries: ["index", "testing/index"] },
  { dir: "packages/backend-local", entries: ["index"] },
  // dockerode carries native optional modules (ssh2, cpu-features): it stays an ordinary dependency.
  { dir: "packages/backend-docker", entries: ["index"], externalDependencies: true },
  // @daytonaio/sdk is large and loaded only on the first cloud command: it stays an ordinary dependency.
  { dir: "packages/backend-daytona", entries: ["index"], externalDependencies: true },
  { dir: "packages/detector-rules", entries: ["index"] },
  // The MCP SDK (imported only when MCP is used) and zod (the SDK's required peer) stay ordinary
  // dependencies; fastify is a devDependency and is bundled, so users never install
  // light-my-request's cookie (whose engines want Node >= 22).
  { dir: "packages/server", entries: ["index"], externalDependencies: true },
  { dir: "packages/cli", entries: ["bin", "index"] },
];

await Promise.all(
  PACKAGES.map(async ({ dir, entries, externalDependencies = false }) => {
    // Chunk names change with their content: start from nothing, or old chunks pile up (and get published).
    rmSync(join(dir, "dist/bundle"), { recursive: true, force: true });
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    // External: peers and (for some packages) dependencies, installed beside the package. The rest
    // — devDependencies included — is bundled in.
    const external = [
      ...Object.keys(pkg.peerDependencies ?? {}),
      ...Object.keys(pkg.dependencies ?? {}).filter((name) => externalDependencies || name.startsWith("@stigmer/") || name === "stigmer"),
    ];
    await build({
      entryPoints: entries.map((entry) => ({ in: join(dir, "dist", `${entry}.js`), out: entry })),
      outdir: join(dir, "dist/bundle"),
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      target: "node20",
      external,
      // Not minified: what users see in a stack trace or an uncaught error's source line is the
      // code as written (names and lines), not one screen-wide line. The source maps point further,
      // to src/, for tools and `node --enable-source-maps`. Start-up costs the same (bench/local.mjs).
      sourcemap: "linked",
      minify: false,
      keepNames: true,
      legalComments: "linked",
      logLevel: "warning",
      // Bundled CommonJS dependencies call require() for Node built-ins.
      banner: { js: "import { createRequire as __stigmerRequire } from 'node:module'; const require = __stigmerRequire(import.meta.url);" },
    });
  }),
);
