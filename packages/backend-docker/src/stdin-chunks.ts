import type { StdinSource } from "@stigmer/core";

/** Every stdin source as a stream of byte chunks. */
export async function* stdinChunks(source: StdinSource): AsyncGenerator<Uint8Array> {
  if (typeof source === "string") yield Buffer.from(source, "utf8");
  else if (source instanceof Uint8Array) yield source;
  else for await (const chunk of source) yield typeof chunk === "string" ? Buffer.from(chunk) : chunk;
}
