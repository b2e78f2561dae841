// Python's command line (`python`, `python3.12`, `pypy3`): inline code (`-c`), modules (`-m`, with
// the modules that are tools of their own and the standard library's command lines), a script, or
// standard input; short options cluster (`python -Im pip`). The shared parts of reading an
// interpreter's program (version-only runs, scripts) are in interpreters.ts.
import type { ToolContext } from "../engine/context.js";
import { type Arg, syntheticArg } from "../engine/words.js";
import { nonLiteralWord, onlyInformational, script } from "./interpreters.js";

/** Python's command line: `-c CODE` and `-m MODULE` end the options; `-W`/`-X` take a value; short options cluster. */
export function python(ctx: ToolContext): void {
  const args = ctx.inv.args;
  if (
    !args.some((a) => /^-[a-zA-Z]*[cm]/.test(a.value ?? "")) &&
    !args.some((a) => !(a.value ?? "-").startsWith("-")) &&
    onlyInformational(ctx)
  )
    return;
  // `-i` (alone or in a cluster before `-c`/`-m`): an interactive session follows whatever runs first.
  if (pythonInteractive(args)) ctx.stdinCode("python");
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Arg;
    const v = a.value;
    if (v === undefined) return nonLiteralWord(ctx, a, "python", "python");
    if (v === "-") return ctx.stdinCode("python");
    if (v === "--") return script(ctx, args[i + 1], "python", args.slice(i + 2));
    if (v.startsWith("--")) {
      if (v === "--check-hash-based-pycs") i++;
      continue;
    }
    if (v.startsWith("-") && v.length > 1) {
      for (let j = 1; j < v.length; j++) {
        const c = v[j] as string;
        if (c === "c" || c === "m") {
          const rest = v.slice(j + 1);
          const value = rest !== "" ? syntheticArg(rest, a) : args[i + 1];
          const after = args.slice(rest !== "" ? i + 1 : i + 2);
          if (!value) return;
          if (c === "c") return ctx.code(value, "python");
          return pythonModule(ctx, value, after);
        }
        if (c === "W" || c === "X") {
          if (j === v.length - 1) i++;
          break;
        }
      }
      continue;
    }
    return script(ctx, a, "python", args.slice(i + 1));
  }
  ctx.stdinCode("python");
}

/** Whether python's options (before the script, `-c` or `-m`) include `-i`. */
function pythonInteractive(args: readonly Arg[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const v = args[i]?.value;
    if (v === undefined || v === "-" || v === "--" || !v.startsWith("-")) return false;
    if (v.startsWith("--")) {
      if (v === "--check-hash-based-pycs") i++;
      continue;
    }
    for (let j = 1; j < v.length; j++) {
      const c = v[j] as string;
      if (c === "i") return true;
      if (c === "c" || c === "m") return false;
      if (c === "W" || c === "X") {
        if (j === v.length - 1) i++;
        break;
      }
    }
  }
  return false;
}

/** Modules that are tools of their own (`python -m pip` is pip). */
const MODULE_TOOLS: Record<string, string> = {
  pip: "pip",
  pip3: "pip",
  pipx: "pipx",
  uv: "uv",
  poetry: "poetry",
  conda: "conda",
  pdm: "pdm",
  hatch: "hatch",
  twine: "twine",
  pytest: "pytest",
  "py.test": "pytest",
  tox: "tox",
  nox: "nox",
  black: "black",
  isort: "isort",
  flake8: "flake8",
  pylint: "pylint",
  mypy: "mypy",
  ruff: "ruff",
  coverage: "coverage",
  pre_commit: "pre-commit",
  build: "",
  mkdocs: "mkdocs",
  sphinx: "sphinx-build",
  jupyter: "jupyter",
  notebook: "jupyter",
  uvicorn: "uvicorn",
  gunicorn: "gunicorn",
  celery: "celery",
  flask: "flask",
  django: "django-admin",
  streamlit: "streamlit",
  alembic: "alembic",
  virtualenv: "virtualenv",
  pipenv: "pipenv",
  setuptools: "",
  wheel: "",
  cookiecutter: "cookiecutter",
  ansible: "ansible",
  awscli: "aws",
  httpie: "http",
};

/** Standard-library modules with a command line of their own, and what they do. */
const STDLIB_MODULES: Record<string, "read" | "project" | "venv" | "archive" | "browser" | "install" | "server"> = {
  "json.tool": "read",
  "http.server": "project",
  venv: "venv",
  ensurepip: "install",
  zipfile: "archive",
  tarfile: "archive",
  gzip: "archive",
  compileall: "project",
  py_compile: "project",
  unittest: "project",
  doctest: "project",
  timeit: "read",
  cProfile: "project",
  profile: "project",
  pdb: "project",
  trace: "project",
  site: "read",
  sysconfig: "read",
  platform: "read",
  this: "read",
  calendar: "read",
  uuid: "read",
  ast: "read",
  tokenize: "read",
  dis: "read",
  pydoc: "read",
  mimetypes: "read",
  base64: "read",
  quopri: "read",
  filecmp: "read",
  tabnanny: "read",
  pyclbr: "read",
  pickletools: "read",
  sqlite3: "read",
  encodings: "read",
  webbrowser: "browser",
  antigravity: "browser",
  smtpd: "server",
  idlelib: "project",
  turtledemo: "project",
  asyncio: "read",
};

function pythonModule(ctx: ToolContext, module: Arg, rest: Arg[]): void {
  const name = module.value;
  if (name === undefined || !module.literal || module.unusual)
    return ctx.find("exec.dynamic-word", `runs a module named by \`${module.text}\`, which is not a literal`);
  const base = name.replace(/^pip[0-9.]+$/, "pip");
  const tool = MODULE_TOOLS[base] ?? MODULE_TOOLS[name.split(".")[0] as string];
  if (tool) return ctx.command([syntheticArg(tool, module), ...rest]);
  if (tool === "") {
    // A build front-end (`python -m build`): builds the project.
    ctx.find("local.project-code");
    return ctx.projectCode();
  }
  const kind = STDLIB_MODULES[name];
  switch (kind) {
    case "install":
      return ctx.find("pkg.install", "installs pip (ensurepip)");
    case "browser":
      return ctx.find("exec.surface", "opens a web browser");
    case "server":
      return ctx.find("net.remote-session", "starts a network server");
    case "venv": {
      // Creating an environment copies the interpreter and its bundled pip, offline: a write of
      // its directory (R31). Upgrading its packages from the index is clause 1.
      const dir = rest.find((r) => !(r.value ?? "-").startsWith("-"));
      if (dir) ctx.path(dir, "write");
      if (rest.some((r) => r.value === "--upgrade-deps"))
        return ctx.find("pkg.install", "upgrades pip in the new environment from the index");
      return ctx.find("local.project-write", "creates a Python environment in the directory it names");
    }
    case "archive": {
      // `-e ARCHIVE DIR` extracts, `-c ARCHIVE FILES` creates.
      const words = rest.map((r) => r.value);
      const e = words.findIndex((w) => w === "-e" || w === "--extract");
      const c = words.findIndex((w) => w === "-c" || w === "--create");
      if (e >= 0 && rest[e + 2]) ctx.path(rest[e + 2] as Arg, "write");
      if (c >= 0 && rest[c + 1]) ctx.path(rest[c + 1] as Arg, "write");
      if (name === "gzip" && e < 0 && c < 0) for (const r of rest) if (!(r.value ?? "-").startsWith("-")) ctx.path(r, "write");
      return ctx.find("local.project-write");
    }
    case "read":
      if (name === "json.tool" && rest.filter((r) => !(r.value ?? "-").startsWith("-")).length >= 2)
        ctx.path(rest.filter((r) => !(r.value ?? "-").startsWith("-"))[1] as Arg, "write");
      return ctx.find("local.read");
    case "project":
      ctx.find("local.project-code");
      return ctx.projectCode();
    default:
      if (!/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(name)) return ctx.find("exec.unknown-verb", `runs a module named \`${name}\``);
      // A project module or an installed one: running project code.
      ctx.find("local.project-code");
      return ctx.projectCode();
  }
}
