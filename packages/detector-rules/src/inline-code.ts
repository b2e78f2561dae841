/**
 * Visible inline interpreter code (`python -c`, `node -e`, heredocs fed to an interpreter): the
 * detector cannot run it, so it looks for the calls that run programs, delete, write outside the
 * project or send data away. Finding one sends the command to the sandbox; plain computation and
 * printing stay local.
 */
export interface CodeFinding {
  ruleId: string;
  policy: 1 | 2 | 4 | 5 | 7 | 8;
  what: string;
}

const PATTERNS: Array<[RegExp, CodeFinding]> = [
  [
    /\b(os\.(system|popen|exec\w*|spawn\w*|posix_spawn\w*|fork|kill|killpg)|subprocess|pty\.spawn|commands\.getoutput|asyncio\.create_subprocess)/,
    { ruleId: "code.runs-programs", policy: 8, what: "runs other programs" },
  ],
  [
    /\b(child_process|execSync|execFileSync|spawnSync|\bexec\(|\bspawn\(|\bexecFile\(|process\.kill|Deno\.(run|Command)|Bun\.spawn|\$`)/,
    { ruleId: "code.runs-programs", policy: 8, what: "runs other programs" },
  ],
  [
    /\bsystem\s*\(|\bqx[{(/]|\bIO\.popen|\bKernel\.(system|exec|spawn)|\bproc_open|\bshell_exec|\bpassthru|%x[{(]/,
    { ruleId: "code.runs-programs", policy: 8, what: "runs other programs" },
  ],
  [
    /\b(eval|exec|compile|__import__)\s*\(|\bnew Function\s*\(|\bFunction\s*\(\s*['"`]/,
    { ruleId: "code.dynamic", policy: 8, what: "evaluates code the detector cannot see" },
  ],
  [
    /\b(shutil\.(rmtree|move|copy\w*|chown)|os\.(remove|unlink|rmdir|removedirs|rename|replace|chmod|chown|makedirs|mkdir|symlink|link|truncate)|pathlib.*\.(unlink|rmdir|write_text|write_bytes|rename|replace|chmod|touch|mkdir)|\.unlink\(|\.rmdir\(|\.write_(text|bytes)\()/,
    { ruleId: "code.changes-files", policy: 2, what: "deletes, moves or writes files" },
  ],
  [
    /\bfs(\/promises)?['"]?\)?\.?(rm|rmSync|rmdir|rmdirSync|unlink|unlinkSync|writeFile|writeFileSync|appendFile|appendFileSync|rename|renameSync|chmod|chmodSync|chown|chownSync|mkdir|mkdirSync|copyFile|copyFileSync|cp|cpSync|symlink|truncate)\b|\b(rmSync|unlinkSync|writeFileSync|appendFileSync|renameSync|rmdirSync|mkdirSync|copyFileSync|cpSync)\s*\(/,
    { ruleId: "code.changes-files", policy: 2, what: "deletes, moves or writes files" },
  ],
  [
    /\bFile\.(delete|write|rename|chmod|chown)|FileUtils\.(rm\w*|mv|cp\w*|mkdir\w*|touch)|\bunlink\b|\brmdir\b|\brmtree\b|\bremove_tree\b|\bmake_path\b|\bFile::Copy|\bmove\s*\(|\bfile_put_contents|\brename\s*\(|\bchmod\s*\(|\bchown\s*\(/,
    { ruleId: "code.changes-files", policy: 2, what: "deletes, moves or writes files" },
  ],
  [
    /\bopen\s*\([^)]*,\s*(mode\s*=\s*)?['"][^'"]*[wax+][^'"]*['"]/,
    { ruleId: "code.changes-files", policy: 2, what: "opens a file for writing" },
  ],
  [
    /\b(pip|ensurepip|pip\._internal|setuptools\.sandbox|npm\.commands|site\.main)\b/,
    { ruleId: "code.packages", policy: 1, what: "manages packages" },
  ],
  [
    /\b(urllib|urlopen|requests\.|http\.client|httpx|aiohttp|socket\.|smtplib|ftplib|paramiko|fetch\(|https?\.request|net\.connect|net\.createConnection|XMLHttpRequest|WebSocket|Net::HTTP|LWP::|IO::Socket|curl_exec|fsockopen)/,
    { ruleId: "code.network", policy: 7, what: "opens network connections" },
  ],
  [/\b(ctypes|cffi|ffi\.|process\.binding|dlopen|mmap)\b/, { ruleId: "code.native", policy: 8, what: "calls native code" }],
  [
    /\bb64decode|base64\.b64decode|Buffer\.from\([^)]*['"]base64['"]\)|atob\(|\.decode\(['"](base64|hex|rot13)/,
    { ruleId: "code.encoded", policy: 8, what: "decodes hidden text" },
  ],
];

// Where a write or delete call could be aimed outside the project.
const RISKY_PATH_LITERAL = /['"](\/(?!tmp\/|var\/tmp\/|dev\/null)|~|\.\.\/|\.\.['"])/;
const DYNAMIC_PATH_SOURCE =
  /\b(expanduser|expandvars|environ|getenv|argv|input\s*\(|process\.env|homedir|__file__|glob|walk|listdir|scandir|readdir|Path\.home|sys\.stdin|ARGV|ENV\[|\$_)/;
const STRING_LITERAL = /(['"])(?:(?!\1)[^\\]|\\.)*\1/;

/**
 * What the code does that the sandbox should contain; empty when it only computes, prints, or
 * writes and deletes named paths inside the project (relative literals, no `..`).
 * `lang` enables the backtick check for languages where backticks run commands.
 */
export function analyseCode(code: string, lang: "python" | "js" | "ruby" | "perl" | "php" | "other" = "other"): CodeFinding[] {
  const found = new Map<string, CodeFinding>();
  for (const [pattern, finding] of PATTERNS) if (pattern.test(code) && !found.has(finding.ruleId)) found.set(finding.ruleId, finding);
  if ((lang === "ruby" || lang === "perl" || lang === "php") && /`[^`]*`/.test(code))
    found.set("code.runs-programs", { ruleId: "code.runs-programs", policy: 8, what: "runs other programs" });
  if (found.has("code.changes-files") && STRING_LITERAL.test(code) && !RISKY_PATH_LITERAL.test(code) && !DYNAMIC_PATH_SOURCE.test(code)) {
    // Named relative paths only: a targeted write or delete inside the project.
    found.delete("code.changes-files");
  }
  return [...found.values()];
}

/** awk programs run commands through system(), `| getline` and `print | "cmd"`, and write with `print > "file"`. */
export function analyseAwk(program: string): CodeFinding[] {
  const out: CodeFinding[] = [];
  if (/\bsystem\s*\(|\|\s*getline|\bprint[f]?\b[^;}]*\|\s*["$]|\|&/.test(program))
    out.push({ ruleId: "code.runs-programs", policy: 8, what: "runs other programs" });
  if (/\bprint[f]?\b[^;}]*>>?\s*["$(]/.test(program)) out.push({ ruleId: "code.changes-files", policy: 2, what: "writes files" });
  return out;
}

/** sed scripts run commands with `e` and the `s///e` flag, and write with `w FILE`. */
export function analyseSed(script: string): CodeFinding[] {
  const out: CodeFinding[] = [];
  if (/(^|[;\n{}]\s*)e(\s|$)/.test(script) || /s(.).*\1.*\1[gpIi0-9]*e/.test(script))
    out.push({ ruleId: "code.runs-programs", policy: 8, what: "runs commands (sed e)" });
  if (/(^|[;\n{}]\s*)w\s+\S/.test(script) || /s(.).*\1.*\1[gpIi0-9]*w\s+\S/.test(script))
    out.push({ ruleId: "code.changes-files", policy: 2, what: "writes a file (sed w)" });
  return out;
}
