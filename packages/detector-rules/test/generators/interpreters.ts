/**
 * Class 5: interpreters and package managers named by a path, and Python's clustered flags.
 *
 * R20: "A known tool named by a path (`.venv/bin/python -m pip install x`, `./node_modules/.bin/npm
 * i`) is judged as that tool." R19: a full path to a standard program is not obfuscation
 * (`/usr/bin/python3 --version` is local). Clause 1: `python -m pip` install, "Options and wrappers
 * do not change this"; `uv run`/`poetry run` are transparent wrappers and local themselves.
 *
 * Risky side: (interpreter path × flag spelling × `-m pip install …`/`-m ensurepip`), pip by path,
 * npm/yarn/pnpm by path with install verbs. Look-alike side: the same paths and flag spellings with
 * test runners, stdlib tools, project scripts and read-only pip/npm verbs.
 */
import fc from "fast-check";
import { type Case, type PrefixWrapper, shape, wrapped } from "./common.js";

/** Python interpreters named by a path in the project, a standard system path, or on PATH. */
export const PYTHON_PATHS: readonly string[] = [
  "python",
  "python3",
  "python3.12",
  ".venv/bin/python",
  ".venv/bin/python3",
  "./venv/bin/python",
  "venv/bin/python",
  "/usr/bin/python3",
];
/** Only for the risky side: a system path R19 does not name as standard. */
export const PYTHON_PATHS_RISKY_ONLY: readonly string[] = ["/usr/local/bin/python3", "/usr/bin/env python3"];

/** Python options that take no argument and can be clustered (`-IB`, `-Bm pip`). */
export const PYTHON_FLAGS: readonly string[] = ["I", "B", "E", "s", "u", "O", "q"];
/** Python options with an argument, put before `-m`. */
export const PYTHON_ARG_OPTIONS: readonly string[] = ["-X utf8", "-W ignore", "-X dev"];

/** Spells `-m <module>` after some flags: separate (`-I -B -m pip`), clustered (`-IBm pip`) or glued (`-mpip`). */
export function moduleInvocation(flags: readonly string[], argOption: string | null, module: string, style: number): string {
  const opt = argOption === null ? [] : [argOption];
  switch (style % 4) {
    case 0:
      return [...flags.map((f) => `-${f}`), ...opt, "-m", module].join(" ");
    case 1:
      return [...opt, flags.length > 0 ? `-${flags.join("")}m ${module}` : `-m ${module}`].join(" ");
    case 2:
      return [...opt, flags.length > 0 ? `-${flags.join("")} -m ${module}` : `-m${module}`].join(" ");
    default:
      return [...flags.map((f) => `-${f}`), ...opt, `-m${module}`].join(" ");
  }
}

const pythonInvocation = (paths: readonly string[], modules: readonly string[]) =>
  fc
    .record({
      path: fc.constantFrom(...paths),
      flags: fc.uniqueArray(fc.constantFrom(...PYTHON_FLAGS), { maxLength: 3 }),
      argOption: fc.option(fc.constantFrom(...PYTHON_ARG_OPTIONS), { nil: null, freq: 4 }),
      module: fc.constantFrom(...modules),
      style: fc.nat(3),
    })
    .map(({ path, flags, argOption, module, style }) => {
      const [name, ...args] = module.split(" ");
      return [path, moduleInvocation(flags, argOption, name!, style), ...args].join(" ");
    });

/** `-m` targets that install (clause 1). */
export const PIP_INSTALL_MODULES: readonly string[] = [
  "pip install x",
  "pip install requests",
  "pip install -r requirements.txt",
  "pip install -U pip",
  "pip install --user x",
  "pip install -e .",
  "pip uninstall -y x",
  "pip --disable-pip-version-check install x",
  "pip install --dry-run x",
  "ensurepip",
  "ensurepip --upgrade",
];

/** `-m` targets that are local: tests, stdlib tools, read-only pip. */
export const LOCAL_MODULES: readonly string[] = [
  "pytest",
  "pytest -q tests/",
  "json.tool x.json",
  "unittest discover",
  "compileall -q src",
  "pip list",
  "pip show requests",
  "pip freeze",
];

export const pythonModuleInstall = pythonInvocation([...PYTHON_PATHS, ...PYTHON_PATHS_RISKY_ONLY], PIP_INSTALL_MODULES).map((c) =>
  shape(c, "clause 1/R20: python -m pip install (or ensurepip), whatever the path or flags; pip's --dry-run is not real"),
);

export const pipByPathInstall = fc
  .tuple(
    fc.constantFrom(
      ".venv/bin/pip",
      "./venv/bin/pip",
      "venv/bin/pip3",
      ".venv/bin/pip3",
      "/usr/bin/pip3",
      "/usr/local/bin/pip3",
      "~/.local/bin/pip",
    ),
    fc.constantFrom("install x", "install -r requirements.txt", "install -U pip", "uninstall -y x", "install --dry-run x"),
  )
  .map(([p, args]) => shape(`${p} ${args}`, "clause 1/R20: pip by a path is pip"));

export const nodeManagerByPathInstall = fc
  .tuple(
    fc.constantFrom("./node_modules/.bin/npm", "node_modules/.bin/npm", "./node_modules/.bin/yarn", "./node_modules/.bin/pnpm"),
    fc.nat(),
  )
  .map(([p, i]) => {
    const verbs = p.endsWith("yarn")
      ? ["add x", "install"]
      : p.endsWith("pnpm")
        ? ["add x", "i x", "install", "update"]
        : ["i x", "install x", "ci", "update"];
    return shape(`${p} ${verbs[i % verbs.length]}`, "clause 1/R20: a package manager by a path is that package manager");
  });

/** `uv run` / `poetry run` in front of a Python command (transparent wrappers, local themselves). */
export const PYTHON_WRAPPERS: readonly PrefixWrapper[] = [
  { name: "uv run", accepts: ["program"], yields: "program", apply: (c) => `uv run ${c}` },
  { name: "poetry run", accepts: ["program"], yields: "program", apply: (c) => `poetry run ${c}` },
];

/** Class 5, sandbox side. */
export const class5Risky: fc.Arbitrary<Case> = wrapped(
  fc.oneof(
    { arbitrary: pythonModuleInstall, weight: 4 },
    { arbitrary: pipByPathInstall, weight: 2 },
    { arbitrary: nodeManagerByPathInstall, weight: 2 },
  ),
  "sandbox",
  { extraPrefix: PYTHON_WRAPPERS },
);

// ---------------------------------------------------------------------------------------------
// Look-alikes.
// ---------------------------------------------------------------------------------------------

export const pythonModuleLocal = pythonInvocation(PYTHON_PATHS, LOCAL_MODULES).map((c) =>
  shape(c, "local: tests, stdlib tools or read-only pip through the same interpreter paths and flags"),
);

export const pythonScriptLocal = fc
  .tuple(
    fc.constantFrom(...PYTHON_PATHS),
    fc.constantFrom("manage.py test", "app.py", "scripts/gen.py --out build", "-c 'print(1)'", "--version", "-V"),
  )
  .map(([p, args]) => shape(`${p} ${args}`, "local: running project code or printing the version (R19, R20)"));

export const toolByPathLocal = fc
  .constantFrom(
    "./node_modules/.bin/eslint .",
    "./node_modules/.bin/tsc -p .",
    "./node_modules/.bin/vitest run",
    "./node_modules/.bin/prettier --check .",
    "node_modules/.bin/jest",
    "./node_modules/.bin/npm ls",
    "./node_modules/.bin/npm test",
    ".venv/bin/pytest -q",
    ".venv/bin/pip list",
    ".venv/bin/pip freeze",
    "./venv/bin/pip show requests",
  )
  .map((c) => shape(c, "R20: a known tool by a path in the project, judged as that tool: local verb"));

/** Class 5, local side. */
export const class5Lookalike: fc.Arbitrary<Case> = wrapped(
  fc.oneof(
    { arbitrary: pythonModuleLocal, weight: 4 },
    { arbitrary: pythonScriptLocal, weight: 2 },
    { arbitrary: toolByPathLocal, weight: 2 },
  ),
  "local",
  { extraPrefix: PYTHON_WRAPPERS },
);
