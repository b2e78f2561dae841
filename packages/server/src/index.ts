export { createMcpServer, handleMcpHttp, McpHttpEndpoint, type McpServerOptions, mcpHttpHandler, serveMcpStdio } from "./mcp.js";
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
