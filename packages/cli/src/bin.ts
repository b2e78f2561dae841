#!/usr/bin/env node
import { main } from "./main.js";

const status = await main(process.argv.slice(2));
// Let piped output drain before leaving; then exit even if a handle (a stdin pipe) is still open.
process.stdout.write("", () => process.stderr.write("", () => process.exit(status)));
