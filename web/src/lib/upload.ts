/**
 * Client-streaming calls from the browser (TrainerService.ImportTrainers), with upload progress.
 *
 * Connect's browser transport refuses a client stream: fetch() cannot stream a request body. A
 * gRPC-Web server (node/console, Connect's) reads a client stream from one request body holding all
 * its framed messages, so a browser can make the call by sending every message at once. This is
 * Connect's own gRPC-Web protocol (@connectrpc/connect/protocol-grpc-web's createTransport: the
 * request headers, the message envelopes, the trailer, grpc-status, grpc-message and
 * grpc-status-details-bin read into a ConnectError with its details) over an HTTP client made of
 * XMLHttpRequest, which buffers the request body and reports how much of it has been sent.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { readAllBytes, type UniversalClientFn } from "@connectrpc/connect/protocol";
import { createTransport } from "@connectrpc/connect/protocol-grpc-web";
import { TrainerService } from "../../generated/concordat/v1/trainers_pb.js";
import { authorization } from "../api.js";

/** How much of the request has gone out: bytes sent of bytes in all. */
export type UploadProgress = (sent: number, total: number) => void;

/** An HTTP client for Connect's protocol code over XMLHttpRequest: the whole body in one request. */
function xhrClient(onProgress: UploadProgress): UniversalClientFn {
  return async (request) => {
    const body = request.body ? await readAllBytes(request.body, Number.MAX_SAFE_INTEGER) : new Uint8Array(0);
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(request.method, request.url, true);
      xhr.responseType = "arraybuffer";
      for (const [name, value] of request.header) xhr.setRequestHeader(name, value);
      xhr.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : body.length);
      xhr.upload.onload = () => onProgress(body.length, body.length);
      const abort = () => xhr.abort();
      request.signal?.addEventListener("abort", abort, { once: true });
      xhr.onerror = () => reject(new ConnectError("the node cannot be reached", Code.Unavailable));
      xhr.onabort = () => reject(new ConnectError("cancelled", Code.Canceled));
      xhr.ontimeout = () => reject(new ConnectError("the node took too long", Code.DeadlineExceeded));
      xhr.onload = () => {
        request.signal?.removeEventListener("abort", abort);
        const header = new Headers();
        for (const line of xhr
          .getAllResponseHeaders()
          .trim()
          .split(/[\r\n]+/)) {
          const at = line.indexOf(":");
          if (at > 0) header.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
        }
        const data = new Uint8Array(xhr.response as ArrayBuffer);
        resolve({
          status: xhr.status,
          header,
          trailer: new Headers(),
          body: (async function* () {
            if (data.length > 0) yield data;
          })(),
        });
      };
      xhr.send(body as Uint8Array<ArrayBuffer>);
    });
  };
}

/** A TrainerService client whose client-streaming calls work in a browser and report upload progress. */
export function uploadingTrainerClient(onProgress: UploadProgress) {
  const transport = createTransport({
    httpClient: xhrClient(onProgress),
    baseUrl: location.origin,
    useBinaryFormat: true,
    interceptors: [authorization],
    acceptCompression: [],
    sendCompression: null,
    compressMinBytes: Number.MAX_SAFE_INTEGER,
    readMaxBytes: 0xffffffff,
    writeMaxBytes: 0xffffffff,
    defaultTimeoutMs: 10 * 60_000,
  });
  return createClient(TrainerService, transport);
}
