// Small statistics and table helpers shared by the bench files.

/** Summary of a list of samples (milliseconds or any unit). Percentiles are nearest-rank. */
export function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { n: 0, median: Number.NaN, p90: Number.NaN, mean: Number.NaN, min: Number.NaN, max: Number.NaN };
  const rank = (p) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))];
  const median = n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const mean = sorted.reduce((sum, x) => sum + x, 0) / n;
  return { n, median, p90: rank(0.9), mean, min: sorted[0], max: sorted[n - 1] };
}

/** Rounds for JSON output (keeps the files readable). */
export function round(x, digits = 3) {
  if (typeof x !== "number" || !Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Rounds every number in a summary. */
export function roundSummary(summary, digits = 3) {
  return Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, round(v, digits)]));
}

export const fmtMs = (x) => `${x.toFixed(x < 10 ? 3 : x < 100 ? 2 : 1)} ms`;
export const fmtRatio = (x) => `${x.toFixed(3)}×`;
export const MiB = 1024 * 1024;
export const fmtMiB = (bytes) => `${(bytes / MiB).toFixed(1)} MiB`;

/** Renders rows (arrays of strings) as an aligned text table; the first row is the header. */
export function table(rows, { indent = "  ", align } = {}) {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => String(row[col] ?? "").length)));
  const line = (row) =>
    indent +
    row
      .map((cell, col) => {
        const text = String(cell ?? "");
        return (align?.[col] ?? (col === 0 ? "left" : "right")) === "left" ? text.padEnd(widths[col]) : text.padStart(widths[col]);
      })
      .join("  ")
      .trimEnd();
  const rule = indent + widths.map((w) => "-".repeat(w)).join("  ");
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join("\n");
}

/** PASS or MISS for a measured value against a target. */
export function verdict(measured, limit, strict = false) {
  return (strict ? measured < limit : measured <= limit) ? "PASS" : "MISS";
}
