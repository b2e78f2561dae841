/** The last part of a path (`./a/b/` → `b`). */
export function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** A command text shortened to one line of at most 90 characters, for messages. */
export function tidy(text: string): string {
  let flat = "";
  let space = false;
  for (let i = 0; i < text.length && flat.length < 90; i++) {
    const c = text[i] as string;
    if (c === " " || c === "\n" || c === "\t" || c === "\r") space = flat.length > 0;
    else {
      if (space) flat += " ";
      space = false;
      flat += c;
    }
  }
  return flat.length > 80 ? `${flat.slice(0, 77)}…` : flat;
}
