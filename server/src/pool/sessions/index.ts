export { SessionStore, sessionIdOfKey, type AffinityMode, type CreateSessionInput, type SessionEndReason, type SessionLimits, type SessionRecord } from "./store.js";
export { typedValueToJson, VariableStore, type SetVariableInput, type VariableChange, type VariableLimits } from "./variables.js";
