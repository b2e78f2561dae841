import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

// Tests never read or write the developer's own state directory (server tokens, the trust store):
// each test file gets a private one, inherited by the CLI processes it starts.
const dir = mkdtempSync(join(tmpdir(), "stigmer-state-"));
process.env.STIGMER_STATE_DIR = dir;
afterAll(() => rmSync(dir, { recursive: true, force: true }));
