export { encodeFrame, FrameDecoder, MAX_FRAME_BYTES } from "./framing.js";
export type { Link } from "./link.js";
export { LinkServer, type HelloHandler } from "./link-server.js";
export { StreamLink } from "./stream-link.js";
