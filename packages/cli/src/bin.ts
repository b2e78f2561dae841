#!/usr/bin/env node
import { main } from "./main.js";
import { watchOutputs } from "./report-error.js";

// A reader that goes away (`stigmer … | head -1`) ends stigmer quietly, never with a stack trace.
watchOutputs();
const status = await main(process.argv.slice(2));
// Let piped output drain before leaving; then exit even if a handle (a stdin pipe) is still open.
const flushed = (stream: NodeJS.WriteStream) =>
  new Promise<void>((resolve) => (stream.destroyed || stream.writableEnded ? resolve() : stream.write("", () => resolve())));
await flushed(process.stdout);
await flushed(process.stderr);
process.exit(status);
