import type { ParsedScript, Word, WordPart } from "unbash";

/** What the detector knows about one shell word without running anything. */
export interface WordInfo {
  /** Source text, as written. */
  text: string;
  /** The value after quote removal (expansions left as written). */
  value: string;
  /** No parameter, command, arithmetic or process expansion: the value is known. */
  static: boolean;
  /** Quotes or backslashes inside the word (`p''ip`, `\rm`, `"rm"`). */
  quoted: boolean;
  /** Scripts of `$(…)`, backticks and `<(…)`/`>(…)` inside the word. */
  substitutions: ParsedScript[];
  /** Scripts of process substitutions only (`<(curl …)`). */
  processSubstitutions: ParsedScript[];
  /** Names of variables the word expands. */
  variables: string[];
  /** Unquoted glob characters (`*`, `?`, `[…]`). */
  glob: boolean;
}

function visit(parts: readonly WordPart[] | undefined, info: WordInfo): void {
  for (const part of parts ?? []) {
    switch (part.type) {
      case "Literal":
        if (part.text.includes("\\")) info.quoted = true;
        break;
      case "SingleQuoted":
      case "AnsiCQuoted":
        info.quoted = true;
        break;
      case "DoubleQuoted":
      case "LocaleString":
        info.quoted = true;
        visit(part.parts as readonly WordPart[], info);
        break;
      case "SimpleExpansion":
        info.static = false;
        info.variables.push(part.text.replace(/^\$/, ""));
        break;
      case "ParameterExpansion":
        info.static = false;
        info.variables.push(part.parameter);
        break;
      case "CommandExpansion":
        info.static = false;
        if (part.script) info.substitutions.push(part.script);
        break;
      case "ProcessSubstitution":
        info.static = false;
        if (part.script) {
          info.substitutions.push(part.script);
          info.processSubstitutions.push(part.script);
        }
        break;
      case "ArithmeticExpansion":
        info.static = false;
        break;
      case "Glob":
      case "ExtendedGlob":
        info.glob = true;
        if ("parts" in part) visit(part.parts, info);
        break;
      case "BraceExpansion":
        visit(part.parts, info);
        break;
    }
  }
}

export function wordInfo(word: Word): WordInfo {
  const info: WordInfo = {
    text: word.text,
    value: word.value,
    static: true,
    quoted: false,
    substitutions: [],
    processSubstitutions: [],
    variables: [],
    glob: false,
  };
  if (word.parts) visit(word.parts, info);
  else if (word.text.includes("\\")) info.quoted = true;
  return info;
}

/** A word made up by the engine (the inner command of `sh -c "…"` is parsed; xargs' appended arguments are not). */
export function syntheticWord(value: string, isStatic = true): WordInfo {
  return { text: value, value, static: isStatic, quoted: false, substitutions: [], processSubstitutions: [], variables: [], glob: false };
}
