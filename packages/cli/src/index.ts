export { main } from "./main.js";
export { CLI_PRESET, cliConfig } from "./preset.js";
