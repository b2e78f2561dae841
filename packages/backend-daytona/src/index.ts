import { BackendToken, definePlugin, type StigmerPlugin } from "@stigmer/core";
import { DaytonaBackend } from "./daytona-backend.js";

export { DaytonaBackend } from "./daytona-backend.js";
export { LABELS } from "./labels.js";
export { type DaytonaBackendOptions, DEFAULT_API_URL } from "./options.js";

/** The `daytona` plugin: sandbox mode on Daytona cloud sandboxes (`MODE=cloud`). */
export const plugin: StigmerPlugin = definePlugin({
  name: "daytona",
  kind: "backend",
  register(container) {
    container.register(BackendToken, { useClass: DaytonaBackend });
  },
});
export default plugin;
