import { BackendToken, definePlugin, type StigmerPlugin } from "@stigmer/core";
import { DaytonaBackend } from "./daytona-backend.js";
import { DAYTONA_SETTINGS } from "./options.js";

export { DaytonaBackend } from "./daytona-backend.js";
export { LABELS } from "./labels.js";
export { DAYTONA_SETTINGS, type DaytonaBackendOptions, DEFAULT_API_URL } from "./options.js";

/** The `daytona` plugin: sandbox mode on Daytona cloud sandboxes (the CLI's `MODE=cloud`). */
export const plugin: StigmerPlugin = definePlugin({
  specificationVersion: "v1",
  name: "daytona",
  kind: "backend",
  settings: DAYTONA_SETTINGS,
  register(container) {
    container.register(BackendToken, { useClass: DaytonaBackend });
  },
});
export default plugin;
