import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { MethodDefinition } from "nice-grpc";

type Streams<K> = K extends "client_streaming" | "bidi_streaming" ? true : false;
type ResponseStreams<K> = K extends "server_streaming" | "bidi_streaming" ? true : false;

/** The nice-grpc definition of a protobuf-es service, method by method. */
export type NiceGrpcDefinition<T extends GenServiceMethods> = {
  [K in keyof T]: MethodDefinition<
    MessageInitShape<T[K]["input"]>,
    MessageShape<T[K]["input"]>,
    MessageInitShape<T[K]["output"]>,
    MessageShape<T[K]["output"]>,
    Streams<T[K]["methodKind"]>,
    ResponseStreams<T[K]["methodKind"]>
  >;
};

/**
 * Turns a protobuf-es service into a nice-grpc service definition, so that
 * nice-grpc (on grpc-js) can call pyfleet without ts-proto: an independent
 * gRPC stack from Connect's own.
 */
export function niceGrpcDefinition<T extends GenServiceMethods>(service: GenService<T>): NiceGrpcDefinition<T> {
  const definition: Record<string, MethodDefinition<unknown, unknown, unknown, unknown>> = {};
  for (const method of service.methods) {
    const input = method.input as DescMessage;
    const output = method.output as DescMessage;
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: (value) => toBinary(input, create(input, value as MessageInitShape<DescMessage>)),
      requestDeserialize: (bytes) => fromBinary(input, bytes),
      responseSerialize: (value) => toBinary(output, create(output, value as MessageInitShape<DescMessage>)),
      responseDeserialize: (bytes) => fromBinary(output, bytes),
      options: {},
    };
  }
  return definition as NiceGrpcDefinition<T>;
}
