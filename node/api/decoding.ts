import { BinaryReader } from "@bufbuild/protobuf/wire";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { invalidArgument, resourceExhausted, type ConcordatError } from "../errors.js";
import type { NodeMetrics } from "../metrics.js";

/**
 * A request message that is not handed to its handler as a message: larger than its method takes,
 * not a protobuf message of its type, or holding text that is not UTF-8. grpc-js answers INTERNAL
 * when a deserializer throws, so the deserializer returns this instead, and the handler wrapper
 * (handlers.ts) throws its error through the one error boundary.
 */
export class RefusedRequest {
  readonly error: ConcordatError;
  constructor(error: ConcordatError) {
    this.error = error;
  }
}

class NotUtf8 extends Error {}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Protobuf strings are UTF-8; the reader's default replaces bad bytes with U+FFFD, this refuses them. */
function strictUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new NotUtf8("not UTF-8");
  }
}

export interface RequestGuard {
  /** The largest request message `path` (e.g. `/concordat.v1.TrainerService/AddTrainer`) takes, in bytes. */
  maxBytes(path: string): number;
  metrics?: NodeMetrics | undefined;
}

/** `TrainerService/AddTrainer` for `/concordat.v1.TrainerService/AddTrainer`. */
export function methodName(path: string): string {
  const slash = path.lastIndexOf("/");
  const service = path.slice(1, slash);
  return `${service.slice(service.lastIndexOf(".") + 1)}/${path.slice(slash + 1)}`;
}

function guardedDeserializer(
  method: MethodDefinition<unknown, unknown>,
  guard: RequestGuard,
): (bytes: Buffer) => unknown {
  const name = methodName(method.path);
  const max = guard.maxBytes(method.path);
  return (bytes: Buffer) => {
    guard.metrics?.apiRequestRead(name, bytes.byteLength);
    if (bytes.byteLength > max) {
      const description = `is ${bytes.byteLength} bytes; ${name} takes at most ${max} bytes per message`;
      return new RefusedRequest(resourceExhausted(`the request ${description}`, [{ field: "(request)", description }]));
    }
    try {
      // ts-proto's generated decode(input: BinaryReader | Uint8Array) reads from a reader it is
      // given, and hands the same reader to nested messages: one reader with a strict UTF-8 decoder
      // checks every string field of the request, however deep.
      return method.requestDeserialize(new BinaryReader(bytes, strictUtf8) as unknown as Buffer);
    } catch (error) {
      const description =
        error instanceof NotUtf8
          ? "a text field holds bytes that are not valid UTF-8 (text must be UTF-8; binary data goes in bytes fields)"
          : `is not a ${name} request: its bytes are not a protobuf message of that type`;
      return new RefusedRequest(invalidArgument([{ field: "(request)", description }]));
    }
  };
}

/**
 * The service definition with every method's request deserialization guarded: a size limit per
 * method (the server's receive limit bounds what grpc-js buffers; this bounds what each method
 * decodes), strict UTF-8, and decode failures returned as a RefusedRequest.
 */
export function guardRequests<D extends ServiceDefinition>(definition: D, guard: RequestGuard): D {
  const methods = Object.entries(definition as Record<string, MethodDefinition<unknown, unknown>>).map(
    ([key, method]) => [key, { ...method, requestDeserialize: guardedDeserializer(method, guard) }],
  );
  return Object.fromEntries(methods) as D;
}
