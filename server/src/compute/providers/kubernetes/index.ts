export { KubernetesProvider, type KubernetesProviderOptions } from "./provider.js";
