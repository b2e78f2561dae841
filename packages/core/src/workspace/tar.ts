/**
 * A streaming tar codec (POSIX ustar, with pax and GNU long-name records on read, pax on write):
 * the format container engines' archive APIs, `tar` in any sandbox image and the in-sandbox agent all speak,
 * so a change set travels the same way through every backend.
 */

export type TarEntryType = "file" | "directory" | "symlink" | "hardlink" | "other";

export interface TarEntry {
  /** Relative path with `/` separators, as written in the archive (no leading `./` on write). */
  path: string;
  type: TarEntryType;
  /** Permission bits as stored (setuid/setgid/sticky included: readers decide what to keep). */
  mode: number;
  /** Content length in bytes (files only). */
  size: number;
  /** Modification time, milliseconds since the epoch (whole seconds on write). */
  mtimeMs: number;
  /** Target of a symlink or hard link. */
  linkTarget?: string;
  /** The raw type flag, for `other` entries (devices, FIFOs). */
  typeFlag?: string;
}

const BLOCK = 512;
const ZERO_BLOCK = new Uint8Array(BLOCK);
const encoder = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true });

const TYPE_FLAGS: Record<Exclude<TarEntryType, "other">, string> = { file: "0", directory: "5", symlink: "2", hardlink: "1" };

function octal(value: number, width: number): string {
  return `${Math.floor(value)
    .toString(8)
    .padStart(width - 1, "0")}\0`;
}

function writeString(block: Uint8Array, offset: number, width: number, text: string): void {
  block.set(encoder.encode(text).subarray(0, width), offset);
}

function fitsUstar(text: string, width: number): boolean {
  // Plain ASCII that fits; anything else goes in a pax record.
  return text.length < width && /^[\x20-\x7e]*$/.test(text);
}

function paxRecord(key: string, value: string): Uint8Array {
  // "<length> <key>=<value>\n", where length counts its own digits too.
  const body = ` ${key}=${value}\n`;
  const bodyLength = encoder.encode(body).length;
  let length = bodyLength + String(bodyLength).length;
  while (length !== bodyLength + String(length).length) length = bodyLength + String(length).length;
  return encoder.encode(`${length}${body}`);
}

function header(fields: { path: string; typeFlag: string; mode: number; size: number; mtimeMs: number; linkTarget?: string }): Uint8Array {
  const block = new Uint8Array(BLOCK);
  writeString(block, 0, 100, fields.path);
  writeString(block, 100, 8, octal(fields.mode & 0o7777, 8));
  writeString(block, 108, 8, octal(0, 8));
  writeString(block, 116, 8, octal(0, 8));
  writeString(block, 124, 12, octal(fields.size, 12));
  writeString(block, 136, 12, octal(Math.max(0, fields.mtimeMs / 1000), 12));
  writeString(block, 148, 8, "        ");
  writeString(block, 156, 1, fields.typeFlag);
  if (fields.linkTarget) writeString(block, 157, 100, fields.linkTarget);
  writeString(block, 257, 6, "ustar\0");
  writeString(block, 263, 2, "00");
  let sum = 0;
  for (const byte of block) sum += byte;
  writeString(block, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

function padding(size: number): Uint8Array {
  const rest = size % BLOCK;
  return rest === 0 ? new Uint8Array(0) : ZERO_BLOCK.subarray(0, BLOCK - rest);
}

/** The header block(s) for one entry: a pax record first when the path or link target needs it. */
export function encodeTarHeader(entry: TarEntry): Uint8Array[] {
  const typeFlag = entry.type === "other" ? (entry.typeFlag ?? "0") : TYPE_FLAGS[entry.type];
  const size = entry.type === "file" ? entry.size : 0;
  const pax: Uint8Array[] = [];
  if (!fitsUstar(entry.path, 100)) pax.push(paxRecord("path", entry.path));
  if (entry.linkTarget !== undefined && !fitsUstar(entry.linkTarget, 100)) pax.push(paxRecord("linkpath", entry.linkTarget));
  if (size > 0o77777777777) pax.push(paxRecord("size", String(size)));
  const blocks: Uint8Array[] = [];
  if (pax.length > 0) {
    const body = Buffer.concat(pax);
    blocks.push(
      header({ path: "PaxHeader", typeFlag: "x", mode: 0o644, size: body.length, mtimeMs: entry.mtimeMs }),
      body,
      padding(body.length),
    );
  }
  blocks.push(
    header({
      path: fitsUstar(entry.path, 100) ? entry.path : entry.path.replace(/[^\x20-\x7e]/g, "_").slice(0, 99),
      typeFlag,
      mode: entry.mode,
      size: Math.min(size, 0o77777777777),
      mtimeMs: entry.mtimeMs,
      ...(entry.linkTarget !== undefined
        ? { linkTarget: fitsUstar(entry.linkTarget, 100) ? entry.linkTarget : entry.linkTarget.slice(0, 99) }
        : {}),
    }),
  );
  return blocks;
}

/** What {@link packTar} writes: an entry and, for files, exactly `entry.size` bytes of content. */
export interface TarSourceItem {
  entry: TarEntry;
  /** File content. Shorter content is padded with zeros and longer content cut, so the archive stays valid. */
  content?: Uint8Array | AsyncIterable<Uint8Array>;
}

/** Writes an archive from entries, streaming file contents; ends with the two zero blocks. */
export async function* packTar(items: Iterable<TarSourceItem> | AsyncIterable<TarSourceItem>): AsyncGenerator<Uint8Array> {
  for await (const { entry, content } of items) {
    yield* encodeTarHeader(entry);
    if (entry.type !== "file" || entry.size === 0) continue;
    let written = 0;
    const chunks = content === undefined ? [] : content instanceof Uint8Array ? [content] : content;
    for await (const chunk of chunks) {
      const left = entry.size - written;
      if (left <= 0) break;
      const piece = chunk.length > left ? chunk.subarray(0, left) : chunk;
      written += piece.length;
      yield piece;
    }
    while (written < entry.size) {
      const zeros = new Uint8Array(Math.min(64 * 1024, entry.size - written));
      written += zeros.length;
      yield zeros;
    }
    yield padding(entry.size);
  }
  yield new Uint8Array(BLOCK * 2);
}

/** Pulls exact byte counts out of a chunked stream without copying more than needed. */
class ByteReader {
  private buffered: Uint8Array[] = [];
  private length = 0;
  private done = false;
  private readonly iterator: AsyncIterator<Uint8Array>;

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.iterator =
      Symbol.asyncIterator in source
        ? (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
        : (async function* () {
            yield* source as Iterable<Uint8Array>;
          })();
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.iterator.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    if (next.value.length > 0) {
      this.buffered.push(next.value);
      this.length += next.value.length;
    }
    return true;
  }

  /** Exactly `n` bytes, or fewer at the end of the stream. */
  async read(n: number): Promise<Uint8Array> {
    while (this.length < n && (await this.fill()));
    const out = new Uint8Array(Math.min(n, this.length));
    let offset = 0;
    while (offset < out.length) {
      const head = this.buffered[0] as Uint8Array;
      const take = Math.min(head.length, out.length - offset);
      out.set(head.subarray(0, take), offset);
      offset += take;
      if (take === head.length) this.buffered.shift();
      else this.buffered[0] = head.subarray(take);
    }
    this.length -= out.length;
    return out;
  }

  /** Up to `n` bytes as they arrive, in chunks. */
  async *chunks(n: number): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (this.length === 0 && !(await this.fill())) return;
      const head = this.buffered[0] as Uint8Array;
      const take = Math.min(head.length, left);
      const piece = head.subarray(0, take);
      if (take === head.length) this.buffered.shift();
      else this.buffered[0] = head.subarray(take);
      this.length -= take;
      left -= take;
      yield piece;
    }
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

/** A malformed archive: the stream is not tar, or it ends in the middle of an entry. */
export class TarFormatError extends Error {}

function field(block: Uint8Array, offset: number, width: number): string {
  const bytes = block.subarray(offset, offset + width);
  const end = bytes.indexOf(0);
  return Buffer.from(end === -1 ? bytes : bytes.subarray(0, end)).toString("latin1");
}

function numberField(block: Uint8Array, offset: number, width: number): number {
  const first = block[offset] ?? 0;
  if (first & 0x80) {
    // base-256 (GNU) for values that do not fit in octal
    let value = first & 0x7f;
    for (let i = 1; i < width; i++) value = value * 256 + (block[offset + i] ?? 0);
    return value;
  }
  const text = field(block, offset, width).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`bad number field "${text}"`);
  return Number.parseInt(text, 8);
}

function checksumOk(block: Uint8Array): boolean {
  let stored: number;
  try {
    stored = numberField(block, 148, 8);
  } catch {
    return false;
  }
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] as number);
  return sum === stored;
}

function decodeName(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new TarFormatError("a path in the archive is not valid UTF-8");
  }
}

function parsePax(body: Uint8Array): Record<string, string> {
  const records: Record<string, string> = {};
  let offset = 0;
  while (offset < body.length) {
    const space = body.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number.parseInt(Buffer.from(body.subarray(offset, space)).toString("latin1"), 10);
    if (!Number.isInteger(length) || length <= 0 || offset + length > body.length) throw new TarFormatError("bad pax record");
    const record = decodeName(body.subarray(space + 1, offset + length - 1));
    const eq = record.indexOf("=");
    if (eq > 0) records[record.slice(0, eq)] = record.slice(eq + 1);
    offset += length;
  }
  return records;
}

const ENTRY_TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "5": "directory",
  "2": "symlink",
  "1": "hardlink",
};
const MAX_META_BYTES = 1024 * 1024;

/** One entry read from an archive; consume (or drain) `content` before asking for the next entry. */
export interface TarReadItem {
  entry: TarEntry;
  content: AsyncIterable<Uint8Array>;
}

/**
 * Reads an archive entry by entry. Pax (`x`, `g`) and GNU long-name (`L`, `K`) records are folded
 * into the entry they describe. Content not consumed by the caller is skipped. Throws
 * {@link TarFormatError} for a malformed archive.
 */
export async function* readTar(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<TarReadItem> {
  const reader = new ByteReader(source);
  let pending: Record<string, string> = {};
  let global: Record<string, string> = {};
  try {
    for (;;) {
      const block = await reader.read(BLOCK);
      if (block.length === 0) return; // a stream without the end blocks is accepted
      if (block.length < BLOCK) throw new TarFormatError("the archive ends inside a header");
      if (block.every((b) => b === 0)) return;
      if (!checksumOk(block)) throw new TarFormatError("a header's checksum does not match: not a tar archive");
      const flag = field(block, 156, 1) || "0";
      let size = numberField(block, 124, 12);
      if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
        if (size > MAX_META_BYTES) throw new TarFormatError("a pax or long-name record is too large");
        const body = await reader.read(size);
        if (body.length < size) throw new TarFormatError("the archive ends inside a record");
        await reader.read((BLOCK - (size % BLOCK)) % BLOCK);
        if (flag === "x") pending = { ...pending, ...parsePax(body) };
        else if (flag === "g") global = { ...global, ...parsePax(body) };
        else {
          const end = body.indexOf(0);
          pending[flag === "L" ? "path" : "linkpath"] = decodeName(end === -1 ? body : body.subarray(0, end));
        }
        continue;
      }
      const meta = { ...global, ...pending };
      pending = {};
      const prefix = field(block, 345, 155);
      const rawName = field(block, 0, 100);
      let path = meta.path ?? decodeName(Buffer.from(prefix ? `${prefix}/${rawName}` : rawName, "latin1"));
      path = path.replace(/^(\.\/)+/, "");
      if (meta.size !== undefined) size = Number(meta.size);
      const type: TarEntryType = ENTRY_TYPES[flag] ?? "other";
      if (type === "directory" || type === "symlink" || type === "hardlink") size = type === "directory" ? 0 : size;
      const linkRaw = field(block, 157, 100);
      const linkTarget = meta.linkpath ?? (linkRaw ? decodeName(Buffer.from(linkRaw, "latin1")) : undefined);
      const mtime = meta.mtime !== undefined ? Number(meta.mtime) : numberField(block, 136, 12);
      const entry: TarEntry = {
        path: type === "directory" ? path.replace(/\/+$/, "") : path,
        type,
        mode: numberField(block, 100, 8),
        size: type === "file" ? size : 0,
        mtimeMs: Number.isFinite(mtime) ? mtime * 1000 : 0,
        ...(linkTarget !== undefined && (type === "symlink" || type === "hardlink") ? { linkTarget } : {}),
        ...(type === "other" ? { typeFlag: flag } : {}),
      };
      let consumed = 0;
      const body = reader.chunks(size);
      const next = async (): Promise<IteratorResult<Uint8Array>> => {
        const result = await body.next();
        if (!result.done) consumed += result.value.length;
        return result;
      };
      // A caller that stops early must not close `body`: the rest is skipped below.
      const content: AsyncIterable<Uint8Array> = {
        [Symbol.asyncIterator]: () => ({ next, return: async () => ({ done: true, value: undefined }) }),
      };
      yield { entry, content };
      // Skip what the caller left unread, then the padding.
      for (let r = await next(); !r.done; r = await next()) {}
      if (consumed < size) throw new TarFormatError("the archive ends inside a file");
      await reader.read((BLOCK - (size % BLOCK)) % BLOCK);
    }
  } finally {
    await reader.close();
  }
}
