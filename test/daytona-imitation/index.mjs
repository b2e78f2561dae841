// Entry point (types: index.d.mts). The implementation is server.mjs.
export { startDaytonaImitation } from "./server.mjs";
