import { BackendToken, definePlugin } from "@stigmer/core";
import { SPAWN_SETTINGS, SpawnBackend } from "./spawn-backend.js";

export { SPAWN_SETTINGS, SpawnBackend, type SpawnBackendOptions } from "./spawn-backend.js";

/** Selected with configuration only: `STIGMER_SANDBOX_BACKEND=@example/stigmer-backend-spawn`. */
export default definePlugin({
  specificationVersion: "v1",
  name: "@example/stigmer-backend-spawn",
  kind: "backend",
  settings: SPAWN_SETTINGS,
  register(container) {
    // useClass, not useValue: the container builds the backend, and disposing the executor's
    // container calls its dispose().
    container.register(BackendToken, { useClass: SpawnBackend });
  },
});
