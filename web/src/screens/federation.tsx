/**
 * The federation as this node sees it: the charter's members (hub ids, names, keys, addresses)
 * with each one's latest verified checkpoint, how fresh it is and what was rejected; the peers
 * connected now and the sync state of each shared document with each; this node's own key. At
 * the secretariat an administrator admits a hub here. The jobs of `concordat federation list`,
 * `status`, `peers`, `keys status` and `federation admit` (docs/secretariat.md, docs/hub-operator.md).
 */
import { useState } from "preact/hooks";
import type { ListMembersResponse, Member } from "../../generated/concordat/v1/federation_pb.js";
import type { DocumentSyncStatus, MemberStatus, PeerStatus } from "../../generated/concordat/v1/node_pb.js";
import { api, errorText, fieldErrors } from "../api.js";
import type { ScreenProps } from "../app.js";
import { formatAge, formatNumber, formatTime, t } from "../i18n.js";
import { useLive } from "../live.js";
import { may } from "../session.js";
import { Busy, ErrorMessage, Field, Notice, Screen, TextArea, useLoad } from "../ui/kit.js";
import "./federation.css";

export function FederationScreen(props: ScreenProps) {
  // Checkpoint ages count from now: the heartbeat (every few seconds) re-reads them too.
  const live = useLive("peer", "checkpoint", "member", "heartbeat");
  const [admitted, setAdmitted] = useState<Member | undefined>(undefined);
  const loaded = useLoad(
    async (signal) => {
      const [members, status, peers, key] = await Promise.all([
        api.federation.listMembers({}, { signal }),
        api.node.getStatus({}, { signal }),
        api.node.listPeers({ includeDocuments: true }, { signal }),
        api.keys.getKeyStatus({}, { signal }),
      ]);
      return { members, status, peers, key };
    },
    [admitted],
    live,
  );
  const mayAdmit = props.me.hubRole === "secretariat" && may("admin");
  return (
    <Screen title={t("federation.title")}>
      <div class="federation">
        {!loaded.data ? (
          loaded.error ? (
            <ErrorMessage error={loaded.error} />
          ) : (
            <Busy />
          )
        ) : (
          <>
            {loaded.error ? <ErrorMessage error={loaded.error} /> : null}
            {admitted ? (
              <Notice tone="ok">{t("federation.admit.done", { hub: admitted.hub, name: admitted.name })}</Notice>
            ) : null}
            <Charter
              members={loaded.data.members}
              peerId={loaded.data.key.peerId}
              nextPeerId={loaded.data.key.nextPeerId}
              connected={loaded.data.status.connectedPeers}
            />
            <Members
              members={loaded.data.members.members}
              freshness={loaded.data.status.members}
              peers={loaded.data.peers.peers}
              self={props.me.hubId}
            />
            {mayAdmit ? <AdmitForm onAdmitted={setAdmitted} /> : null}
            <Peers peers={loaded.data.peers.peers} />
            <SyncState documents={loaded.data.peers.documents} />
          </>
        )}
      </div>
    </Screen>
  );
}

function Charter(props: { members: ListMembersResponse; peerId: string; nextPeerId: string; connected: number }) {
  const m = props.members;
  const source =
    m.source === "authoring"
      ? t("federation.charter.authoring")
      : m.source === "verified"
        ? t("federation.charter.verified", { seq: m.verifiedSeq.toString(), time: formatTime(m.verifiedTime) })
        : t("federation.charter.none");
  return (
    <section aria-labelledby="fed-charter">
      <h2 id="fed-charter">{t("federation.charter.title")}</h2>
      <dl class="facts">
        <dt>{t("federation.charter.federation")}</dt>
        <dd>{m.federationId || t("common.none")}</dd>
        <dt>{t("federation.charter.source")}</dt>
        <dd>{source}</dd>
        <dt>{t("federation.charter.anchor")}</dt>
        <dd>
          <code>{m.anchor || t("federation.charter.noAnchor")}</code>
        </dd>
        <dt>{t("federation.key.current")}</dt>
        <dd>
          <code>{props.peerId}</code>
        </dd>
        <dt>{t("federation.key.next")}</dt>
        <dd>{props.nextPeerId ? <code>{props.nextPeerId}</code> : t("federation.key.noNext")}</dd>
        <dt>{t("federation.charter.connected")}</dt>
        <dd>{t("federation.charter.peers", { count: props.connected })}</dd>
      </dl>
    </section>
  );
}

function Members(props: {
  members: readonly Member[];
  freshness: readonly MemberStatus[];
  peers: readonly PeerStatus[];
  self: string;
}) {
  const byHub = new Map(props.freshness.map((f) => [f.hub, f]));
  const connected = new Set(props.peers.map((p) => p.hub));
  return (
    <section aria-labelledby="fed-members">
      <h2 id="fed-members">{t("federation.members.title")}</h2>
      {props.members.length === 0 ? (
        <p>{t("federation.members.none")}</p>
      ) : (
        <div class="table-wrap">
          <table class="cards">
            <caption>{t("federation.members.caption", { count: props.members.length })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("federation.col.hub")}</th>
                <th scope="col">{t("federation.col.key")}</th>
                <th scope="col">{t("federation.col.addresses")}</th>
                <th scope="col">{t("federation.col.connection")}</th>
                <th scope="col">{t("federation.col.checkpoint")}</th>
                <th scope="col">{t("federation.col.rejected")}</th>
              </tr>
            </thead>
            <tbody>
              {props.members.map((m) => {
                const self = m.hub === props.self;
                const fresh = byHub.get(m.hub);
                const key = m.peerId || m.keys.at(-1)?.peerId || "";
                return (
                  <tr key={m.hub}>
                    <th scope="row" data-label={t("federation.col.hub")}>
                      <span class="hub-id">{m.hub}</span>
                      <span class="hub-name">{m.name}</span>
                      {m.region ? <span class="muted">{m.region}</span> : null}
                      <span class="tags">
                        {m.role === "secretariat" ? (
                          <span class="badge ok">{t("federation.members.secretariat")}</span>
                        ) : null}
                        {self ? <span class="badge ok">{t("federation.members.self")}</span> : null}
                        {m.removedAt ? (
                          <span class="badge bad">
                            {t("federation.members.removed", { time: formatTime(m.removedAt) })}
                          </span>
                        ) : null}
                      </span>
                    </th>
                    <td data-label={t("federation.col.key")}>
                      <code>{key || t("common.none")}</code>
                      {m.keys.length > 1 ? (
                        <span class="muted">
                          {" "}
                          {t("federation.members.keyCount", {
                            count: m.keys.length,
                            since: formatTime(m.keys.at(-1)?.from ?? ""),
                          })}
                        </span>
                      ) : null}
                    </td>
                    <td data-label={t("federation.col.addresses")}>
                      {m.addresses.length === 0 ? (
                        <span class="muted">{t("federation.members.noAddresses")}</span>
                      ) : (
                        <ul class="plain">
                          {m.addresses.map((a) => (
                            <li key={a}>
                              <code>{a}</code>
                            </li>
                          ))}
                        </ul>
                      )}
                    </td>
                    <td data-label={t("federation.col.connection")}>
                      {self ? (
                        <span class="muted">{t("federation.members.thisNode")}</span>
                      ) : connected.has(m.hub) ? (
                        <span class="badge ok">{t("federation.members.connected")}</span>
                      ) : (
                        <span class="badge warn">{t("federation.members.disconnected")}</span>
                      )}
                    </td>
                    <td data-label={t("federation.col.checkpoint")}>
                      <Freshness fresh={fresh} self={self} />
                    </td>
                    <td data-label={t("federation.col.rejected")}>
                      {fresh && fresh.rejected > 0 ? (
                        <>
                          <span class="badge bad">{t("federation.members.rejected", { count: fresh.rejected })}</span>{" "}
                          {fresh.lastRejection ? (
                            <span>{t("federation.members.lastRejection", { reason: fresh.lastRejection })}</span>
                          ) : null}
                        </>
                      ) : (
                        t("federation.members.noRejection")
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Freshness(props: { fresh: MemberStatus | undefined; self: boolean }) {
  if (props.self) return <span class="muted">{t("federation.members.ownState")}</span>;
  const f = props.fresh;
  if (!f || f.verifiedSeq === 0n) return <span class="badge warn">{t("federation.members.noCheckpoint")}</span>;
  return (
    <>
      <span>{t("federation.members.age", { age: formatAge(Number(f.ageSeconds)) })}</span>{" "}
      {f.stale ? <span class="badge warn">{t("federation.members.stale")}</span> : null}
      <span class="muted detail">
        {t("federation.members.checkpoint", { seq: f.verifiedSeq.toString(), time: formatTime(f.verifiedTime) })}
      </span>
      {f.removedAt ? <span class="muted detail">{t("federation.members.asOfRemoval")}</span> : null}
    </>
  );
}

function AdmitForm(props: { onAdmitted: (member: Member) => void }) {
  const [hub, setHub] = useState("");
  const [name, setName] = useState("");
  const [region, setRegion] = useState("");
  const [peerId, setPeerId] = useState("");
  const [addresses, setAddresses] = useState("");
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(undefined);
  const errors = fieldErrors(failure);
  const addressErrors = [...errors].filter(([field]) => field.startsWith("addresses")).map(([, text]) => text);
  const placed = ["hub", "name", "region", "peer_id"].some((f) => errors.has(f)) || addressErrors.length > 0;
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setFailure(undefined);
    try {
      const member = await api.federation.admitMember({
        hub: hub.trim(),
        name: name.trim(),
        region: region.trim(),
        peerId: peerId.trim(),
        addresses: addresses
          .split(/[\n,]/)
          .map((a) => a.trim())
          .filter((a) => a !== ""),
        directoryId: "",
      });
      setHub("");
      setName("");
      setRegion("");
      setPeerId("");
      setAddresses("");
      props.onAdmitted(member);
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };
  // Violations the form has no field for (directory_id, a conflict) and failures without any.
  const others = [...errors].filter(
    ([field]) => !["hub", "name", "region", "peer_id"].includes(field) && !field.startsWith("addresses"),
  );
  return (
    <section aria-labelledby="fed-admit">
      <h2 id="fed-admit">{t("federation.admit.title")}</h2>
      <p>{t("federation.admit.intro")}</p>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <div class="row">
          <Field
            label={t("federation.admit.hub")}
            hint={t("federation.admit.hubHint")}
            value={hub}
            onValue={setHub}
            error={errors.get("hub")}
            autoComplete="off"
          />
          <Field
            label={t("federation.admit.name")}
            hint={t("federation.admit.nameHint")}
            value={name}
            onValue={setName}
            error={errors.get("name")}
            autoComplete="off"
          />
          <Field
            label={t("federation.admit.region")}
            hint={t("federation.admit.regionHint")}
            value={region}
            onValue={setRegion}
            error={errors.get("region")}
            autoComplete="off"
          />
        </div>
        <Field
          label={t("federation.admit.peerId")}
          hint={t("federation.admit.peerIdHint")}
          value={peerId}
          onValue={setPeerId}
          error={errors.get("peer_id")}
          autoComplete="off"
          spellcheck={false}
        />
        <TextArea
          label={t("federation.admit.addresses")}
          hint={t("federation.admit.addressesHint")}
          value={addresses}
          onValue={setAddresses}
          error={addressErrors.length > 0 ? addressErrors.join("; ") : undefined}
        />
        {failure !== undefined && (!placed || others.length > 0) ? (
          <p class="error" role="alert">
            {others.length > 0 ? others.map(([f, d]) => `${f}: ${d}`).join("; ") : errorText(failure)}
          </p>
        ) : failure !== undefined ? (
          <p class="error" role="alert">
            {t("federation.admit.fix")}
          </p>
        ) : null}
        <button type="submit" disabled={busy}>
          {busy ? t("federation.admit.busy") : t("federation.admit.submit")}
        </button>
      </form>
    </section>
  );
}

const kilobytes = (n: bigint) =>
  formatNumber(Number(n) / 1024, { style: "unit", unit: "kilobyte", maximumFractionDigits: 1 });

function Peers(props: { peers: readonly PeerStatus[] }) {
  return (
    <section aria-labelledby="fed-peers">
      <h2 id="fed-peers">{t("federation.peers.title")}</h2>
      {props.peers.length === 0 ? (
        <p>{t("federation.peers.none")}</p>
      ) : (
        <div class="table-wrap">
          <table class="cards">
            <caption>{t("federation.peers.caption", { count: props.peers.length })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("federation.col.hub")}</th>
                <th scope="col">{t("federation.col.transport")}</th>
                <th scope="col">{t("federation.col.address")}</th>
                <th scope="col">{t("federation.col.since")}</th>
                <th scope="col">{t("federation.col.traffic")}</th>
                <th scope="col">{t("federation.col.rtt")}</th>
              </tr>
            </thead>
            <tbody>
              {props.peers.map((p) => (
                <tr key={`${p.peerId}:${p.transport}:${p.address}`}>
                  <th scope="row" data-label={t("federation.col.hub")}>
                    <span class="hub-id">{p.hub || t("federation.peers.unknownHub")}</span>
                    <code class="muted">{p.peerId}</code>
                  </th>
                  <td data-label={t("federation.col.transport")}>
                    {t("federation.peers.transport", {
                      transport: p.transport,
                      direction: t(
                        p.direction === "inbound" ? "federation.peers.inbound" : "federation.peers.outbound",
                      ),
                    })}
                  </td>
                  <td data-label={t("federation.col.address")}>
                    <code>{p.address}</code>
                  </td>
                  <td data-label={t("federation.col.since")}>
                    {p.connectedAt ? formatTime(p.connectedAt) : t("common.none")}
                    {p.lastReceivedAt ? (
                      <span class="muted detail">
                        {t("federation.peers.lastReceived", { time: formatTime(p.lastReceivedAt) })}
                      </span>
                    ) : null}
                  </td>
                  <td data-label={t("federation.col.traffic")}>
                    {t("federation.peers.bytes", { in: kilobytes(p.bytesIn), out: kilobytes(p.bytesOut) })}
                  </td>
                  <td data-label={t("federation.col.rtt")}>
                    {p.rttMs < 0
                      ? t("federation.peers.noRtt")
                      : formatNumber(p.rttMs, { style: "unit", unit: "millisecond", maximumFractionDigits: 1 })}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function SyncState(props: { documents: readonly DocumentSyncStatus[] }) {
  const docs = [...props.documents].sort(
    (a, b) => Number(a.inSync) - Number(b.inSync) || a.hub.localeCompare(b.hub) || a.type.localeCompare(b.type),
  );
  const inSync = docs.filter((d) => d.inSync).length;
  return (
    <section aria-labelledby="fed-sync">
      <h2 id="fed-sync">{t("federation.sync.title")}</h2>
      {docs.length === 0 ? (
        <p>{t("federation.sync.none")}</p>
      ) : (
        <>
          <p>{t("federation.sync.summary", { count: docs.length, inSync: formatNumber(inSync) })}</p>
          <details class="sync" open={inSync < docs.length}>
            <summary>{t("federation.sync.show")}</summary>
            <div class="table-wrap">
              <table class="cards">
                <caption>{t("federation.sync.caption")}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t("federation.col.document")}</th>
                    <th scope="col">{t("federation.col.peer")}</th>
                    <th scope="col">{t("federation.col.syncState")}</th>
                    <th scope="col">{t("federation.col.lastSynced")}</th>
                  </tr>
                </thead>
                <tbody>
                  {docs.map((d) => (
                    <tr key={`${d.documentId}:${d.peerId}`}>
                      <th scope="row" data-label={t("federation.col.document")}>
                        {t("federation.sync.document", { type: d.type, owner: d.owner })}
                        <code class="muted">{d.documentId}</code>
                      </th>
                      <td data-label={t("federation.col.peer")}>{d.hub || d.peerId}</td>
                      <td data-label={t("federation.col.syncState")}>
                        {d.inSync ? (
                          <span class="badge ok">{t("federation.sync.inSync")}</span>
                        ) : (
                          <span class="badge warn">{t("federation.sync.behind")}</span>
                        )}
                      </td>
                      <td data-label={t("federation.col.lastSynced")}>
                        {d.lastSyncedAt ? formatTime(d.lastSyncedAt) : t("federation.sync.never")}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </>
      )}
    </section>
  );
}
