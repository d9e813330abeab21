import { fromBinary, type JsonValue, toJson } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { ToolErrorSchema } from "@pyfleet/sdk/gen/pyfleet/pool/v1/error_pb";

const TOOL_ERROR_TYPE = "type.googleapis.com/pyfleet.pool.v1.ToolError";

/** Reads one Any (type_url = 1, value = 2) from its bytes. */
function readAny(bytes: Uint8Array): { typeUrl: string; value: Uint8Array } {
  const reader = new BinaryReader(bytes);
  let typeUrl = "";
  let value: Uint8Array = new Uint8Array();
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) typeUrl = reader.string();
    else if (field === 2 && wireType === WireType.LengthDelimited) value = reader.bytes();
    else reader.skip(wireType);
  }
  return { typeUrl, value };
}

/**
 * The ToolError detail of a gRPC error, from its `grpc-status-details-bin`
 * trailer (a google.rpc.Status whose field 3 holds the details as Any).
 */
export function toolErrorFromStatusDetails(bytes: Uint8Array | undefined): JsonValue | undefined {
  if (!bytes || bytes.length === 0) return undefined;
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field !== 3 || wireType !== WireType.LengthDelimited) {
      reader.skip(wireType);
      continue;
    }
    const any = readAny(reader.bytes());
    if (any.typeUrl === TOOL_ERROR_TYPE) return toJson(ToolErrorSchema, fromBinary(ToolErrorSchema, any.value));
  }
  return undefined;
}
