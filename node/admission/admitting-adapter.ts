import {
  NetworkAdapter,
  type Message,
  type NetworkAdapterInterface,
  type PeerId,
  type PeerMetadata,
} from "@automerge/automerge-repo";
import type { AdmissionGate } from "./gate.js";

/**
 * A network adapter as the Repo sees it, with admission in between: every message from the inner
 * adapter passes the gate before the Repo reads it, and every message to a peer leaves with the
 * attestations the gate adds. Works over any automerge-repo network adapter; the node wraps its
 * libp2p and gRPC adapters in one each, sharing one gate.
 */
export class AdmittingNetworkAdapter extends NetworkAdapter {
  readonly inner: NetworkAdapterInterface;
  readonly #gate: AdmissionGate;

  constructor(inner: NetworkAdapterInterface, gate: AdmissionGate) {
    super();
    this.inner = inner;
    this.#gate = gate;
    inner.on("peer-candidate", ({ peerId, peerMetadata }) =>
      this.emit("peer-candidate", { peerId, peerMetadata: boundMetadata(peerId, peerMetadata) }),
    );
    inner.on("peer-disconnected", (payload) => {
      this.#gate.peerClosed(payload.peerId);
      this.emit("peer-disconnected", payload);
    });
    const deliver = (admitted: Message) => this.emit("message", admitted);
    inner.on("message", (message) => {
      const admitted = this.#gate.inbound(message, deliver);
      if (admitted) deliver(admitted);
    });
    inner.on("close", () => this.emit("close"));
  }

  isReady(): boolean {
    return this.inner.isReady();
  }

  whenReady(): Promise<void> {
    return this.inner.whenReady();
  }

  connect(peerId: PeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId;
    this.peerMetadata = peerMetadata ?? {};
    this.inner.connect(peerId, peerMetadata);
  }

  send(message: Message): void {
    const out = this.#gate.outbound(message);
    if (out) this.inner.send(out);
  }

  disconnect(): void {
    this.inner.disconnect();
  }
}

/**
 * A peer's metadata as the Repo keeps it: its storage id (under which the Repo persists the peer's
 * sync states) is its authenticated peer id, whatever it claimed, so that no member can read or
 * overwrite the sync state of another; nothing else it sent is kept.
 */
function boundMetadata(peerId: PeerId, claimed: PeerMetadata): PeerMetadata {
  return {
    storageId: peerId as unknown as NonNullable<PeerMetadata["storageId"]>,
    isEphemeral: claimed?.isEphemeral === true,
  };
}
