export { HealthRegistry, type ServingStatus } from "./registry.js";
