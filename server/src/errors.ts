/**
 * The one error type and status vocabulary, shared with the SDK: domain code
 * throws PyfleetError anywhere with a code and a message that says what
 * happened and what to do; the RPC layer maps it once to a Connect error.
 */
export { codeName, type ErrorCode, PyfleetError, statusCode, type ToolError } from "@pyfleet/sdk";
