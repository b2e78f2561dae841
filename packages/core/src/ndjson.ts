import { StringDecoder } from "node:string_decoder";
import type { Decision } from "./detector.js";
import type { ExecEvent } from "./types.js";

/**
 * Encodes an execution's events as NDJSON lines, the wire format of `stigmer run --json` and the
 * server's `POST /v1/exec`: output chunks become `{"type":"stdout","data":"<UTF-8 text>"}` (a
 * character split across chunks is carried to the next line of its stream), every other event is
 * written as it is. One encoder per execution.
 */
export function ndjsonEncoder(): (event: ExecEvent) => string {
  const decoders = { stdout: new StringDecoder("utf8"), stderr: new StringDecoder("utf8") };
  return (event) => {
    if (event.type === "stdout" || event.type === "stderr") {
      return `${JSON.stringify({ type: event.type, data: decoders[event.type].write(Buffer.from(event.data)) })}\n`;
    }
    return `${JSON.stringify(event)}\n`;
  };
}

/** A detector decision as `stigmer detect --json`, `POST /v1/detect` and MCP `classify_command` show it. */
export function decisionJson(decision: Decision): { mode: Decision["target"]; rules: string[]; reason: string } {
  return { mode: decision.target, rules: [...decision.rules], reason: decision.reason };
}
