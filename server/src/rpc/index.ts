export { routes, servedServices, type RouteDeps } from "./routes.js";
