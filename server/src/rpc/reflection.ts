import { create, type DescFile, type DescMessage, type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import * as v1 from "@pyfleet/protocol/gen/grpc/reflection/v1/reflection_pb";
import * as v1alpha from "@pyfleet/protocol/gen/grpc/reflection/v1alpha/reflection_pb";
import { statusCode } from "../errors.js";

/** Every file the services need, by name, and the file defining each symbol. */
class DescriptorIndex {
  readonly files = new Map<string, DescFile>();
  readonly symbols = new Map<string, DescFile>();

  constructor(readonly services: DescService[]) {
    for (const service of services) this.addFile(service.file);
  }

  /** The file and its transitive imports, serialized, the file first. */
  closure(file: DescFile): Uint8Array[] {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (seen.has(f.name)) return;
      seen.add(f.name);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
      for (const dep of f.dependencies) visit(dep);
    };
    visit(file);
    return out;
  }

  private addFile(file: DescFile) {
    if (this.files.has(file.name)) return;
    this.files.set(file.name, file);
    for (const dep of file.dependencies) this.addFile(dep);
    for (const service of file.services) {
      this.symbols.set(service.typeName, file);
      for (const method of service.methods) this.symbols.set(`${service.typeName}.${method.name}`, file);
    }
    for (const e of file.enums) this.symbols.set(e.typeName, file);
    const addMessage = (m: DescMessage) => {
      this.symbols.set(m.typeName, file);
      for (const nested of m.nestedMessages) addMessage(nested);
      for (const e of m.nestedEnums) this.symbols.set(e.typeName, file);
    };
    for (const m of file.messages) addMessage(m);
  }
}

type ReflectionModule = typeof v1 | typeof v1alpha;

function reflectionImpl(mod: ReflectionModule, index: DescriptorIndex) {
  return {
    async *serverReflectionInfo(requests: AsyncIterable<v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest>) {
      for await (const req of requests) {
        const base = { validHost: req.host, originalRequest: req as never };
        const notFound = (message: string) => create(mod.ServerReflectionResponseSchema as typeof v1.ServerReflectionResponseSchema, {
          ...base, messageResponse: { case: "errorResponse", value: { errorCode: statusCode("not_found"), errorMessage: message } },
        });
        const files = (file: DescFile | undefined, what: string) => file
          ? create(mod.ServerReflectionResponseSchema as typeof v1.ServerReflectionResponseSchema, {
            ...base, messageResponse: { case: "fileDescriptorResponse", value: { fileDescriptorProto: index.closure(file) } },
          })
          : notFound(`${what} not found`);
        const r = req.messageRequest;
        switch (r.case) {
          case "listServices":
            yield create(mod.ServerReflectionResponseSchema as typeof v1.ServerReflectionResponseSchema, {
              ...base,
              messageResponse: { case: "listServicesResponse", value: { service: index.services.map((s) => ({ name: s.typeName })) } },
            });
            break;
          case "fileByFilename":
            yield files(index.files.get(r.value), `file "${r.value}"`);
            break;
          case "fileContainingSymbol":
            yield files(index.symbols.get(r.value), `symbol "${r.value}"`);
            break;
          default:
            yield notFound("extensions are not used by pyfleet's services");
        }
      }
    },
  };
}

/**
 * gRPC server reflection (v1, and v1alpha for older grpcurl), so grpcurl and
 * buf curl can list and call the services without local proto files.
 */
export function registerReflection(router: ConnectRouter, services: DescService[]): void {
  const all = [...services, v1.ServerReflection, v1alpha.ServerReflection];
  const index = new DescriptorIndex(all);
  router.service(v1.ServerReflection, reflectionImpl(v1, index) as never);
  router.service(v1alpha.ServerReflection, reflectionImpl(v1alpha, index) as never);
}
