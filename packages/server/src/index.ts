export { type BoundedRun, DEFAULT_STOP_TIMEOUT_MS, runBounded } from "./bounded.js";
export {
  createMcpServer,
  handleMcpHttp,
  McpHttpEndpoint,
  type McpServerOptions,
  type McpTarget,
  mcpHttpHandler,
  serveMcpStdio,
} from "./mcp.js";
export { type BoundedRunnerOptions, boundedRunner, type Runner, Slots } from "./runner.js";
export {
  DEFAULT_LIMITS,
  isLoopback,
  type McpHttpHandler,
  type ServerLimits,
  type StigmerServer,
  type StigmerServerOptions,
  startStigmerServer,
  statusOf,
} from "./server.js";
export {
  generateToken,
  pidAlive,
  readState,
  removeState,
  type ServerState,
  stateDir,
  stateFile,
  tokenFile,
  writePrivateFile,
  writeState,
} from "./state.js";
export { JsonRpcError, LineTransport, type LineTransportOptions, MAX_MCP_LINE_BYTES } from "./stdio.js";
