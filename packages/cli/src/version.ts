import { readFileSync } from "node:fs";

/** The `stigmer` package's version: dist/*.js and dist/bundle/*.js sit at different depths, so walk up to our package.json. */
export function cliVersion(): string {
  for (let url = new URL("./package.json", import.meta.url); ; url = new URL("../package.json", url)) {
    try {
      const pkg = JSON.parse(readFileSync(url, "utf8")) as { name?: string; version: string };
      if (pkg.name === "stigmer") return pkg.version;
    } catch {
      // not here
    }
    if (url.pathname === "/package.json") return "unknown";
  }
}
