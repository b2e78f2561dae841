import type { Rule } from "../rule.js";

// Git: pushing and global configuration change state elsewhere (clause 2); wholesale discards of
// uncommitted work (clause 6) go to the sandbox; recoverable local git stays local.

const GIT_VALUE = ["-C", "--git-dir", "--work-tree", "--namespace", "--exec-path", "-c", "--config-env"];

export const gitRules: Rule[] = [
  {
    id: "git.push",
    description: "pushing to a remote (any kind of push)",
    verdict: "sandbox",
    policy: 2,
    match: { commands: ["git"], subcommands: ["push", "send-email", "svn dcommit", "p4 submit", "request-pull"], valueOptions: GIT_VALUE },
    examples: {
      match: ["git push", "git push --force origin main", "git -C repo push", "git push origin :old-branch"],
      noMatch: ["git pull", "git status"],
    },
  },
  {
    id: "git.global-config",
    description: "writing user-global or system git configuration",
    verdict: "sandbox",
    policy: 2,
    match: {
      commands: ["git"],
      subcommands: ["config"],
      flags: ["--global", "--system"],
      exceptFlags: ["--get", "--get-all", "--get-regexp", "--list", "-l", "--show-origin"],
      valueOptions: GIT_VALUE,
    },
    examples: {
      match: ["git config --global user.name Dev", "git config --system core.autocrlf true"],
      noMatch: ["git config user.name Dev", "git config --global --get user.email", "git config --global -l"],
    },
  },
  {
    id: "git.config-runs-program",
    description: "git configuration that makes git run a program (pager, editor, ssh command, alias, hooks, filters)",
    verdict: "sandbox",
    policy: 8,
    match: {
      commands: ["git"],
      args: [
        "(?i)^(core\\.(pager|editor)|sequence\\.editor)=(?!['\"]?(cat|less|more|most|bat|delta|diff-so-fancy|vim?|nvim|nano|emacs|code --wait|true)( -[a-zA-Z]+)*['\"]?$)",
        "(?i)^(core\\.(sshcommand|fsmonitor|hookspath|askpass|gitproxy|alternaterefscommand)|alias\\.[^=]+|diff\\.external|diff\\.[^=]+\\.(command|textconv)|merge\\.[^=]+\\.driver|filter\\.[^=]+\\.(clean|smudge|process)|credential\\.helper|credential\\..+\\.helper|gpg\\.program|gpg\\.[^=]+\\.program|include\\.path|includeif\\..+|protocol\\.[^=]+\\.allow|uploadpack\\.[^=]+|receive\\.[^=]+|remote\\.[^=]+\\.(uploadpack|receivepack|vcs)|url\\..+\\.insteadof|http\\.proxy)=(?!\\.\\/)",
        "^--config-env",
        "^--upload-pack",
        "^--receive-pack",
        "^--exec=",
      ],
    },
    examples: {
      match: ["git -c core.pager='sh -c \"id\"' log", "git -c alias.x='!rm -rf ~' x", "git -c core.sshCommand='ssh -i key' fetch"],
      noMatch: ["git -c color.ui=never log", "git log --oneline"],
    },
  },
  {
    id: "git.config-program-key",
    description: "storing git configuration that makes git run a program later (hooks path, pager, editor, ssh command, aliases, filters)",
    verdict: "sandbox",
    policy: 8,
    match: {
      commands: ["git"],
      subcommands: ["config"],
      args: [
        "(?i)^(core\\.(sshcommand|fsmonitor|askpass|gitproxy|pager|editor)|sequence\\.editor|alias\\..+|diff\\.external|diff\\..+\\.(command|textconv)|merge\\..+\\.driver|filter\\..+\\.(clean|smudge|process)|credential\\.helper|gpg\\.program|include\\.path|includeif\\..+)$",
      ],
      exceptFlags: ["--get", "--get-all", "--get-regexp", "--list", "-l", "--unset", "--unset-all"],
      valueOptions: GIT_VALUE,
    },
    examples: {
      match: ["git config core.sshCommand 'ssh -i k'", "git config alias.x '!rm -rf ~'"],
      noMatch: ["git config user.name Dev", "git config --get core.hooksPath"],
    },
  },
  {
    id: "git.hooks-outside",
    description: "pointing git hooks at scripts outside the project",
    verdict: "sandbox",
    policy: 8,
    match: {
      commands: ["git"],
      subcommands: ["config core.hooksPath", "config core.hookspath"],
      args: ["^(/(?!tmp/)|~|\\.\\.|\\$)"],
      valueOptions: GIT_VALUE,
    },
    examples: {
      match: ["git config core.hooksPath ~/hooks", "git config core.hooksPath /opt/hooks"],
      noMatch: ["git config core.hooksPath .githooks"],
    },
  },
  {
    id: "git.reset-hard",
    description: "a hard reset throws away uncommitted changes",
    verdict: "sandbox",
    policy: 6,
    match: { commands: ["git"], subcommands: ["reset"], flags: ["--hard", "--merge", "--keep"], valueOptions: GIT_VALUE },
    examples: {
      match: ["git reset --hard", "git reset --hard HEAD~1", "git reset origin/main --hard"],
      noMatch: ["git reset --soft HEAD~1", "git reset HEAD file.txt"],
    },
  },
  {
    id: "git.clean-force",
    description: "git clean -f deletes untracked files",
    verdict: "sandbox",
    policy: 6,
    match: {
      commands: ["git"],
      subcommands: ["clean"],
      flags: ["-f", "--force"],
      exceptFlags: ["-n", "--dry-run", "-i", "--interactive"],
      valueOptions: GIT_VALUE,
    },
    examples: { match: ["git clean -fdx", "git clean -f"], noMatch: ["git clean -n", "git clean -fdn"] },
  },
  {
    id: "git.stash-drop",
    description: "dropping or clearing stashes",
    verdict: "sandbox",
    policy: 6,
    match: { commands: ["git"], subcommands: ["stash drop", "stash clear"], valueOptions: GIT_VALUE },
    examples: { match: ["git stash drop", "git stash clear"], noMatch: ["git stash", "git stash pop"] },
  },
  {
    id: "git.checkout-force",
    description: "a forced checkout or switch throws away local changes",
    verdict: "sandbox",
    policy: 6,
    match: {
      commands: ["git"],
      subcommands: ["checkout", "switch"],
      flags: ["-f", "--force", "--discard-changes"],
      valueOptions: GIT_VALUE,
    },
    examples: {
      match: ["git checkout -f main", "git switch --discard-changes dev"],
      noMatch: ["git checkout main", "git switch -c feature"],
    },
  },
  {
    id: "git.discard-paths",
    description: "checkout/restore of the whole tree (`.`, `*`, `:/`) throws away every uncommitted change",
    verdict: "sandbox",
    policy: 6,
    match: {
      commands: ["git"],
      subcommands: ["checkout", "restore"],
      args: ["^\\.$", "^\\./?\\*?$", "^\\*$", "^:/$", "^:\\(top\\)$"],
      valueOptions: GIT_VALUE,
      exceptFlags: ["--staged", "-S", "--cached"],
    },
    examples: {
      match: ["git checkout -- .", "git restore .", "git checkout HEAD -- ."],
      noMatch: ["git checkout -- src/app.ts", "git restore --staged ."],
    },
  },
  {
    id: "git.discard-paths-worktree",
    description: "restoring the whole working tree, even together with the index",
    verdict: "sandbox",
    policy: 6,
    match: {
      commands: ["git"],
      subcommands: ["restore"],
      flags: ["--worktree", "-W"],
      args: ["^\\.$", "^\\*$", "^:/$", "^:\\(top\\)$"],
      valueOptions: GIT_VALUE,
    },
    examples: { match: ["git restore --worktree --staged :/"], noMatch: ["git restore --staged ."] },
  },
  {
    id: "git.rm-all",
    description: "removing the whole tree from git and the disk",
    verdict: "sandbox",
    policy: 6,
    match: {
      commands: ["git"],
      subcommands: ["rm"],
      flags: ["-r"],
      args: ["^\\.$", "^\\*$", "^:/$"],
      exceptFlags: ["--cached"],
      valueOptions: GIT_VALUE,
    },
    examples: { match: ["git rm -rf ."], noMatch: ["git rm -r --cached .", "git rm old.txt"] },
  },
  {
    id: "git.rewrite-destroy",
    description: "rewriting history or destroying recoverability (filter-branch, reflog expire, prune)",
    verdict: "sandbox",
    policy: 6,
    match: {
      commands: ["git", "git-filter-repo", "bfg"],
      subcommands: ["filter-branch", "filter-repo", "reflog expire", "reflog delete", "prune", "lfs prune"],
      valueOptions: GIT_VALUE,
    },
    examples: {
      match: ["git filter-branch --tree-filter 'rm -f x' HEAD", "git reflog expire --expire=now --all"],
      noMatch: ["git gc", "git reflog"],
    },
  },
  {
    id: "git.prune-now",
    description: "pruning unreachable objects now, or deleting refs",
    verdict: "sandbox",
    policy: 6,
    match: { commands: ["git"], subcommands: ["gc", "update-ref"], args: ["^--prune=(now|all)$", "^-d$"], valueOptions: GIT_VALUE },
    examples: { match: ["git gc --prune=now", "git update-ref -d refs/heads/x"], noMatch: ["git gc --auto"] },
  },
];
