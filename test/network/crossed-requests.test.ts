import * as A from "@automerge/automerge";
import type { Message, PeerId } from "@automerge/automerge-repo";
import { describe, expect, it } from "vitest";
import { CrossedRequests } from "../../node/network/crossed-requests.js";
import { within } from "../replication/support.js";

/**
 * The sync messages of one document between `owner` (has it) and `asker` (lacks it), made by
 * Automerge's own sync functions, in the order they cross: the owner's announcement, the asker's
 * request, the owner's answer (every change), the asker's reply to the announcement (still empty).
 */
function crossing() {
  const doc = A.change(A.init<{ items: string[] }>(), (d) => {
    d.items = ["a", "b", "c"];
  });
  const [ownerState, announcement] = A.generateSyncMessage(doc, A.initSyncState());
  const [askerState, request] = A.generateSyncMessage(A.init<unknown>(), A.initSyncState());
  if (!announcement || !request) throw new Error("no opening messages");
  const [, ownerAfter] = A.receiveSyncMessage(doc, ownerState, request);
  const [, answer] = A.generateSyncMessage(doc, ownerAfter);
  const [empty, askerAfter] = A.receiveSyncMessage(A.init<unknown>(), askerState, announcement);
  const [, reply] = A.generateSyncMessage(empty, askerAfter);
  if (!answer || !reply) throw new Error("no answer or reply");
  return { announcement, request, answer, reply };
}

const OWNER = "owner" as PeerId;
const ASKER = "asker" as PeerId;
const DOC = "doc1" as Message["documentId"] & string;
const out = (type: string, data: Uint8Array): Message => ({
  type,
  senderId: ASKER,
  targetId: OWNER,
  documentId: DOC,
  data,
});
const from = (type: string, data?: Uint8Array): Message => ({
  type,
  senderId: OWNER,
  targetId: ASKER,
  documentId: DOC,
  ...(data ? { data } : {}),
});

describe("CrossedRequests", () => {
  it("holds the asker's reply to an announcement that crossed its request, until the answer", () => {
    const m = crossing();
    const crossed = new CrossedRequests(() => undefined);
    expect(crossed.outbound(out("request", m.request))).toBe(true);
    crossed.inbound(from("sync", m.announcement));
    expect(crossed.outbound(out("sync", m.reply))).toBe(false);
    expect(crossed.held).toBe(1);
    crossed.inbound(from("sync", m.answer));
    // After the answer, the same empty reply (admission refused the changes, say) goes out: the
    // owner then sends the changes again, as the sync protocol retries.
    expect(crossed.outbound(out("sync", m.reply))).toBe(true);
  });

  it("holds nothing without a request of its own, or once the owner refused (and a refusal sends a held reply)", () => {
    const m = crossing();
    const crossed = new CrossedRequests(() => undefined);
    crossed.inbound(from("sync", m.announcement));
    expect(crossed.outbound(out("sync", m.reply))).toBe(true);
    crossed.outbound(out("request", m.request));
    crossed.inbound(from("doc-unavailable"));
    expect(crossed.outbound(out("sync", m.reply))).toBe(true);
    expect(crossed.held).toBe(0);
  });

  it("answers at once an announcement that comes long after a request the owner ignored (it shares the document only now)", () => {
    const m = crossing();
    // Every announcement is "long after": the window is below zero.
    const crossed = new CrossedRequests(() => undefined, 30_000, -1);
    expect(crossed.outbound(out("request", m.request))).toBe(true);
    // The owner ignored the request (a core not released yet); later it releases and announces.
    crossed.inbound(from("sync", m.announcement));
    expect(crossed.outbound(out("sync", m.reply))).toBe(true);
    expect(crossed.held).toBe(0);
  });

  it("sends the held reply when the peer answers the request with anything but the document", () => {
    const m = crossing();
    const sent: Message[] = [];
    const crossed = new CrossedRequests((message) => void sent.push(message));
    crossed.outbound(out("request", m.request));
    crossed.inbound(from("sync", m.announcement));
    expect(crossed.outbound(out("sync", m.reply))).toBe(false);
    crossed.inbound(from("doc-unavailable"));
    expect(sent.map((x) => x.data)).toEqual([m.reply]);
  });

  it("sends a held reply after all when the answer does not come in time", async () => {
    const m = crossing();
    let sent: Message | undefined;
    let notify: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => (notify = resolve));
    const crossed = new CrossedRequests((message) => {
      sent = message;
      notify();
    }, 50);
    crossed.outbound(out("request", m.request));
    crossed.inbound(from("sync", m.announcement));
    expect(crossed.outbound(out("sync", m.reply))).toBe(false);
    await within(arrived, 5000, "the held reply");
    expect(sent?.data).toEqual(m.reply);
    // The hold is over: the next reply passes.
    expect(crossed.outbound(out("sync", m.reply))).toBe(true);
  });

  it("gives held replies back when a channel closes, and forgets a disconnected peer", () => {
    const m = crossing();
    const crossed = new CrossedRequests(() => undefined);
    crossed.outbound(out("request", m.request));
    crossed.inbound(from("sync", m.announcement));
    crossed.outbound(out("sync", m.reply));
    expect(crossed.release(OWNER).map((x) => x.data)).toEqual([m.reply]);
    expect(crossed.outbound(out("sync", m.reply))).toBe(true);
    crossed.outbound(out("request", m.request));
    crossed.inbound(from("sync", m.announcement));
    crossed.outbound(out("sync", m.reply));
    crossed.forget(OWNER);
    expect(crossed.release(OWNER)).toEqual([]);
  });
});
