export {
  ChannelNetworkAdapter,
  type BindingPolicy,
  type Channel,
  type ChannelHandlers,
  type PeerInfo,
} from "./channel-adapter.js";
export {
  Libp2pNetworkAdapter,
  SYNC_PROTOCOL,
  type DialTarget,
  type Libp2pAdapterInit,
  type Libp2pAdapterComponents,
} from "./libp2p-adapter.js";
export { createLibp2pNode, pinoComponentLogger, type ConcordatLibp2p, type Libp2pNodeInit } from "./libp2p-node.js";
export { encodeFrame, FrameDecoder, FrameError, DEFAULT_MAX_FRAME_BYTES } from "./frames.js";
export {
  GrpcNetworkAdapter,
  ReplicationServiceService,
  GRPC_MAX_MESSAGE_BYTES,
  handshakeTranscript,
  verifyPeerSignature,
  type GrpcAdapterInit,
  type GrpcAdapterComponents,
  type GrpcDialTarget,
} from "./grpc-adapter.js";
export { NodeNetwork, type PeerChange, type PeerStatus } from "./node-network.js";
export { documentSync } from "./sync-status.js";
