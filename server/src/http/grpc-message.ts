/**
 * grpc-message with only the percent-encoding the gRPC spec requires (bytes
 * outside 0x20-0x7E, and "%"). connect-es encodes like encodeURIComponent,
 * and grpc-js clients decode with decodeURI, which leaves "%3A" and friends
 * in the message ("missing API key%3A send ..."); minimal encoding reads
 * right in every client.
 */
export function encodeGrpcMessage(text: string): string {
  let plain = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return text;
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
