export { type ApplyOptions, applyChanges, emptyReport, type WorkspaceReport } from "./apply.js";
export { entryOf, type HostChanges, type HostEntry, HostTree, sameEntry } from "./host-tree.js";
export { type ChangeKind, cleanRelativePath, protectedReason, STIGMER_CONFIG_NAME, symlinkStaysInside } from "./protected-paths.js";
export { PULL_SCRIPT, PUSH_SCRIPT, type RemoteRun, type RemoteSandboxOps, remoteSandboxFiles } from "./remote.js";
export { checkWorkspaceRoot, type WorkspaceRootPolicy } from "./roots.js";
export {
  packHostChanges,
  type SandboxFiles,
  WORKSPACE_STRATEGIES,
  WorkspaceMirrors,
  type WorkspaceMirrorsOptions,
  type WorkspaceSession,
  type WorkspaceStrategy,
  workspaceMirrorsOf,
} from "./session.js";
export {
  encodeTarHeader,
  packTar,
  readTar,
  type TarEntry,
  type TarEntryType,
  TarFormatError,
  type TarReadItem,
  type TarSourceItem,
} from "./tar.js";
