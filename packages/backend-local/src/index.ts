import { BackendToken, definePlugin, type StigmerPlugin } from "@stigmer/core";
import { LocalBackend } from "./local-backend.js";

export { LocalBackend, type LocalBackendOptions } from "./local-backend.js";
export { descendantsOf, killTree } from "./process-tree.js";

/** The `local` plugin: commands run on the host. */
export const plugin: StigmerPlugin = definePlugin({
  specificationVersion: "v1",
  name: "local",
  kind: "backend",
  register(container) {
    container.register(BackendToken, { useClass: LocalBackend });
  },
});
export default plugin;
