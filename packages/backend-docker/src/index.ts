import { BackendToken, definePlugin, type StigmerPlugin } from "@stigmer/core";
import { DockerBackend } from "./docker-backend.js";

export { type BuildOptions, buildSandboxImage, FULL_SANDBOX_IMAGE, imagesDir } from "./build-image.js";
export { DockerBackend } from "./docker-backend.js";
export { type DockerBackendOptions, PACKAGE_MANAGER_CAPABILITIES } from "./docker-options.js";
export { LABELS } from "./labels.js";

/** The `docker` plugin: sandbox mode on a Docker engine. */
export const plugin: StigmerPlugin = definePlugin({
  name: "docker",
  kind: "backend",
  register(container) {
    container.register(BackendToken, { useClass: DockerBackend });
  },
});
export default plugin;
