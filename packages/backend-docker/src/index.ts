import { BackendToken, definePlugin, type StigmerPlugin } from "@stigmer/core";
import { DockerBackend } from "./docker-backend.js";
import { DOCKER_SETTINGS } from "./docker-options.js";

export {
  BASIC_BASE_IMAGE,
  BASIC_SIZE_TARGET,
  type BuildOptions,
  type BuildResult,
  buildSandboxImage,
  FULL_SANDBOX_IMAGE,
  imagesDir,
} from "./build-image.js";
export { DockerBackend } from "./docker-backend.js";
export { DOCKER_SETTINGS, type DockerBackendOptions, PACKAGE_MANAGER_CAPABILITIES } from "./docker-options.js";
export { LABELS } from "./labels.js";

/** The `docker` plugin: sandbox mode on a Docker engine. */
export const plugin: StigmerPlugin = definePlugin({
  specificationVersion: "v1",
  name: "docker",
  kind: "backend",
  settings: DOCKER_SETTINGS,
  register(container) {
    container.register(BackendToken, { useClass: DockerBackend });
  },
});
export default plugin;
