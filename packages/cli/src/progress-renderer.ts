import type { ProgressInfo } from "@stigmer/core";

const BAR_WIDTH = 24;

function size(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.round(bytes / 1e3)} kB`;
}

/**
 * Shows preparation progress (image pull, sandbox start) on stderr. On a terminal, one line per
 * layer with a bar, redrawn in place; elsewhere (logs, CI), plain lines, one per change of status,
 * never one per byte.
 */
export class ProgressRenderer {
  private readonly lines = new Map<string, string>();
  private drawn = 0;
  private readonly lastStatus = new Map<string, string>();

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(info: ProgressInfo): void {
    const key = info.item ?? `${info.phase}:`;
    if (!this.stream.isTTY) {
      if (this.lastStatus.get(key) === info.message) return;
      this.lastStatus.set(key, info.message);
      this.stream.write(`stigmer: ${info.phase}: ${info.item ? `${info.item}: ` : ""}${info.message}\n`);
      return;
    }
    this.lines.set(key, this.format(info));
    this.redraw();
  }

  /** Leaves the drawn block in place and starts fresh below it. */
  finish(): void {
    this.lines.clear();
    this.drawn = 0;
  }

  private format(info: ProgressInfo): string {
    const label = info.item ? `${info.item}: ` : "";
    if (info.total && info.current !== undefined) {
      const done = Math.min(1, info.current / info.total);
      const filled = Math.round(done * BAR_WIDTH);
      const bar = `[${"=".repeat(Math.max(0, filled - 1))}${filled > 0 ? ">" : ""}${" ".repeat(BAR_WIDTH - filled)}]`;
      return `${label}${info.message} ${bar} ${size(info.current)}/${size(info.total)}`;
    }
    return `${label}${info.message}`;
  }

  private redraw(): void {
    let out = this.drawn > 0 ? `\x1b[${this.drawn}A` : "";
    for (const line of this.lines.values()) out += `\x1b[2K${line.slice(0, (this.stream.columns || 100) - 1)}\n`;
    this.drawn = this.lines.size;
    this.stream.write(out);
  }
}
