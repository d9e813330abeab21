export { apiKeySet, SecretSet, type ApiKey } from "./keys.js";
export { WorkerTokens, type AttachGrant } from "./worker-tokens.js";
