import "reflect-metadata";

// shutdownController stays public: third-party backends written before RunTracker use it.
export { shutdownController, unlessAborted } from "./abort.js";
export type { Backend, BackendCapabilities, BackendHealth, HealthCheck, OutputSink, SandboxInfo, SandboxManager } from "./backend.js";
export {
  CORE_PRESET,
  type ConfigFlags,
  DEFAULT_CONFIG_FILE,
  DEFAULT_SANDBOX_IMAGE,
  isImageRef,
  LOG_LEVELS,
  type LogLevel,
  type ResolveConfigOptions,
  resolveConfig,
  type StigmerConfig,
  type StigmerPreset,
} from "./config.js";
export { type CreateExecutorOptions, createExecutor } from "./create-executor.js";
export type { Decision, DetectionContext, Detector } from "./detector.js";
// Plugins decorate their classes with core's own tsyringe, so one container understands them all.
export { type DependencyContainer, inject, injectable } from "./di.js";
export { type DiagnoseInput, type DiagnosisCheck, diagnose, MIN_NODE_VERSION } from "./diagnose.js";
export {
  BackendUnavailableError,
  BusyError,
  CancelledError,
  CapabilityUnsupportedError,
  ErrorCode,
  ExecutionFailedError,
  ImageNotFoundError,
  InvalidConfigError,
  InvalidRequestError,
  isUsageError,
  NotFoundError,
  PluginLoadError,
  SandboxUnavailableError,
  StigmerError,
  type StigmerErrorOptions,
  TimeoutError,
  UntrustedConfigError,
} from "./errors.js";
export { type ExecutionStream, Executor, type RunOptions } from "./executor.js";
export {
  CA_VARIABLES,
  type HostCertificates,
  hostCertificates,
  hostProxyEnv,
  PROXY_VARIABLES,
  redactCredentials,
  redactUrl,
} from "./host-trust.js";
export * from "./kit/index.js";
export { type CreateLoggerOptions, createLogger, type Logger, REDACTED_PATHS, scrubSecrets } from "./logger.js";
export { decisionJson, ndjsonEncoder } from "./ndjson.js";
export { OutputCapture } from "./output-capture.js";
export { ownerAlive, PROCESS_OWNER } from "./owner.js";
export { pipeToSink, writeOrWait } from "./pipe-to-sink.js";
export {
  definePlugin,
  type PluginKind,
  type PluginSetting,
  type PluginSettings,
  SPECIFICATION_VERSION,
  type SpecificationVersion,
  type StigmerPlugin,
  SUPPORTED_SPECIFICATION_VERSIONS,
} from "./plugin.js";
export {
  isMissingPackage,
  loadPlugin,
  type PluginLoaderOptions,
  type PluginModuleLoader,
  pluginPackage,
  projectPluginFiles,
} from "./plugin-loader.js";
export { type ResolvedPluginOptions, resolvePluginOptions } from "./plugin-settings.js";
export {
  ARG_SAFE_BYTES,
  COMMAND_ARRIVED,
  commandReader,
  PID_RECORDING_WRAPPER,
  REMOTE_RUN_DIR,
  RUN_ID_VARIABLE,
  shellJoin,
  shellQuote,
  TREE_KILL_SCRIPT,
} from "./remote-shell.js";
export { parseEnvAssignment } from "./request.js";
export {
  type CheckRequestOptions,
  checkCommand,
  checkRequest,
  describeJson,
  invalidField,
  type JsonSchema,
  MAX_COMMAND_BYTES,
  MAX_ENV_ENTRY_BYTES,
  MAX_STDIN_BYTES,
  MAX_TIMEOUT_MS,
  REQUEST_FIELDS,
  type RequestField,
  requestJsonSchema,
  WIRE_REQUEST_FIELDS,
} from "./request-schema.js";
export { type EventListener, type ExecuteOnOptions, executeOn } from "./run-on-backend.js";
export {
  bool,
  byteCount,
  cpuCount,
  httpUrl,
  invalidSetting,
  memorySize,
  oneOf,
  type SettingParser,
  type SettingSource,
  syncBytes,
  text,
  timeoutSeconds,
  wholeCount,
  wholeSeconds,
} from "./settings.js";
export { privateDir, stateDir, writePrivateFile } from "./state-dir.js";
export { BackendToken, ConfigToken, DetectorToken, LoggerToken, PluginOptionsToken } from "./tokens.js";
export { isTrusted, listTrusted, requireTrusted, trustFiles, untrustFiles } from "./trust.js";
export * from "./types.js";
export * from "./workspace/index.js";
