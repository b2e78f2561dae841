import type { SandboxFindingId } from "../findings.js";

/**
 * Environment variables that make programs run, load or write something, and how their value is
 * judged (engine/analyzer.ts `envVariable`). A variable is judged when a program runs with it set
 * (`X=v cmd`, `env X=v cmd`, `export X=v; cmd`, the request's environment); setting it with nothing
 * run afterwards is shell-session state.
 */
export type EnvironmentEffect =
  | "shell" // shell code (pagers, editors)
  | "prompt" // a prompt string: only its `$(…)` and backtick substitutions run (PS1, PS4)
  | "command" // a command line with arguments appended (GIT_SSH_COMMAND, RSYNC_RSH)
  | "executable" // a program run with arguments (GIT_EXTERNAL_DIFF, GIT_ASKPASS, SHELL): judged by where it is
  | "script" // a file sourced or loaded before the program (BASH_ENV, PYTHONSTARTUP)
  | "native" // shared objects loaded into every program (LD_PRELOAD)
  | "search-path" // directories searched for code (PYTHONPATH, NODE_PATH)
  | "path" // PATH: where bare names are found
  | "git-config" // git configuration through the environment
  | "git-dir" // the repository git works on
  | "node-options" // NODE_OPTIONS
  | "interpreter-options" // PERL5OPT, RUBYOPT
  | "jvm-options" // JAVA_TOOL_OPTIONS …
  | "cdpath" // CDPATH (the cd handler reads it)
  | SandboxFindingId;

export const ENVIRONMENT: Readonly<Record<string, EnvironmentEffect>> = {
  PAGER: "shell",
  MANPAGER: "shell",
  GIT_PAGER: "shell",
  SYSTEMD_PAGER: "shell",
  BAT_PAGER: "shell",
  DELTA_PAGER: "shell",
  PSQL_PAGER: "shell",
  MYSQL_PAGER: "shell",
  AWS_PAGER: "shell",
  GH_PAGER: "shell",
  EDITOR: "shell",
  VISUAL: "shell",
  GIT_EDITOR: "shell",
  GIT_SEQUENCE_EDITOR: "shell",
  SVN_EDITOR: "shell",
  KUBE_EDITOR: "shell",
  GH_EDITOR: "shell",
  FCEDIT: "shell",
  SUDO_EDITOR: "shell",
  SPELL: "command",
  HOME: "exec.surface", // inside the project (or written on the line) it is fine: see analyzer envVariable
  DOCKER_HOST: "net.remote-session", // a local socket or loopback engine is fine
  CONTAINER_HOST: "net.remote-session",
  LESSOPEN: "shell",
  LESSCLOSE: "shell",
  LESSEDIT: "shell",
  BROWSER: "shell",
  TERMINAL: "shell",
  PROMPT_COMMAND: "shell",
  PS0: "prompt",
  PS1: "prompt",
  PS2: "prompt",
  PS4: "prompt",
  CC: "command",
  CXX: "command",
  CPP: "command",
  LD: "command",
  AR: "command",
  AS: "command",
  FC: "command",
  F77: "command",
  NM: "command",
  RANLIB: "command",
  STRIP: "command",
  OBJCOPY: "command",
  HOSTCC: "command",
  RUSTC: "command",
  RUSTDOC: "command",
  RUSTC_WRAPPER: "command",
  RUSTC_WORKSPACE_WRAPPER: "command",
  CARGO_BUILD_RUSTC: "command",
  CARGO_BUILD_RUSTC_WRAPPER: "command",
  CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER: "command",
  CARGO_BUILD_RUSTDOC: "command",
  CCACHE_PREFIX: "command",
  CMAKE_C_COMPILER_LAUNCHER: "command",
  CMAKE_CXX_COMPILER_LAUNCHER: "command",
  KUBECTL_EXTERNAL_DIFF: "command",
  GIT_SSH_COMMAND: "command",
  GIT_PROXY_COMMAND: "command",
  RSYNC_RSH: "command",
  CVS_RSH: "command",
  GIT_SSH: "executable",
  GIT_ASKPASS: "executable",
  SSH_ASKPASS: "executable",
  SUDO_ASKPASS: "executable",
  GIT_EXTERNAL_DIFF: "executable",
  SHELL: "executable",
  CONFIG_SHELL: "executable",
  MAKESHELL: "executable",
  npm_config_script_shell: "executable",
  npm_config_shell: "executable",
  npm_config_git: "executable",
  npm_config_editor: "shell",
  npm_config_browser: "shell",
  npm_config_viewer: "shell",
  npm_config_node_options: "node-options",
  npm_config_onload_script: "script",
  npm_config_prefix: "git-dir",
  npm_config_globalconfig: "script",
  npm_config_userconfig: "script",
  BASH_ENV: "script",
  ENV: "script",
  ZDOTDIR: "script",
  PYTHONSTARTUP: "script",
  IRBRC: "script",
  R_PROFILE: "script",
  R_PROFILE_USER: "script",
  BUNDLE_GEMFILE: "script",
  PERL5DB: "exec.surface",
  PYTHONINSPECT: "exec.piped-code",
  GOTOOLCHAIN: "pkg.install",
  NODE_REPL_EXTERNAL_MODULE: "script",
  LD_PRELOAD: "native",
  LD_AUDIT: "native",
  GCONV_PATH: "native",
  DYLD_INSERT_LIBRARIES: "native",
  LD_LIBRARY_PATH: "search-path",
  DYLD_LIBRARY_PATH: "search-path",
  PYTHONPATH: "search-path",
  PYTHONHOME: "search-path",
  PYTHONUSERBASE: "search-path",
  NODE_PATH: "search-path",
  PERL5LIB: "search-path",
  PERLLIB: "search-path",
  RUBYLIB: "search-path",
  JULIA_LOAD_PATH: "search-path",
  GEM_PATH: "search-path",
  GEM_HOME: "search-path",
  CLASSPATH: "search-path",
  LUA_PATH: "search-path",
  LUA_CPATH: "search-path",
  GIT_EXEC_PATH: "search-path",
  GIT_TEMPLATE_DIR: "search-path",
  PATH: "path",
  GIT_CONFIG: "git-config",
  GIT_CONFIG_GLOBAL: "git-config",
  GIT_CONFIG_SYSTEM: "git-config",
  GIT_CONFIG_PARAMETERS: "git-config",
  GIT_CONFIG_COUNT: "git-config",
  GIT_CONFIG_KEY_n: "git-config",
  GIT_DIR: "git-dir",
  GIT_WORK_TREE: "git-dir",
  GIT_INDEX_FILE: "git-dir",
  GIT_OBJECT_DIRECTORY: "git-dir",
  NODE_OPTIONS: "node-options",
  PERL5OPT: "interpreter-options",
  RUBYOPT: "interpreter-options",
  JAVA_TOOL_OPTIONS: "jvm-options",
  _JAVA_OPTIONS: "jvm-options",
  JDK_JAVA_OPTIONS: "jvm-options",
  MAVEN_OPTS: "jvm-options",
  GRADLE_OPTS: "jvm-options",
  CDPATH: "cdpath",
};

/**
 * Names of variables that are not listed above but say they name a program, a config or code file,
 * or a place the program writes (`CARGO_TARGET_x86_64_unknown_linux_gnu_RUNNER`, `FOO_CONFIG_FILE`):
 * a value the detector cannot see is then fail-closed. Other unlisted variables (`DEBUG=1`,
 * `NODE_ENV=production`) are data; their literal values are still checked for paths outside the
 * project (analyzer `unlistedVariable`).
 */
export const PROGRAM_LIKE_VARIABLE =
  /(^|_)(WRAPPER|RUNNER|LINKER|LAUNCHER|SHELL|CMD|COMMAND|EXEC|EXECUTABLE|PROGRAM|HOOKS?|PLUGINS?|PRELOAD|LOADER|RC|RCFILE|CONFIG_FILE|INIT_FILE|STARTUP)$/;
