/**
 * Proposals to the core (/proposals): every hub's proposals as this node holds them (its own, and
 * other hubs' as last verified), filtered by status and searched (FeedbackService.ListProposals, as
 * `concordat proposals list`); one proposal at /proposals/HUB/ID with its change, reason, evidence,
 * comments, decision and release (`proposals show`). What a role may do is offered where it
 * applies: at a hub an operator supports, comments on or objects to another hub's proposal, and
 * proposes or withdraws its own; at the secretariat an administrator decides (accept, merge, reject
 * with a reason) and sees the candidates for the core (`core candidates`). The API decides; what it
 * refuses is shown at the field it names.
 */
import { useState } from "preact/hooks";
import type { Candidate, Proposal } from "../../generated/concordat/v1/feedback_pb.js";
import { api, errorText, fieldErrors } from "../api.js";
import type { ScreenProps } from "../app.js";
import { formatDay, formatNumber, formatTime, languageName, t } from "../i18n.js";
import { useLive } from "../live.js";
import { navigate, queryParams } from "../router.js";
import { may, type Me } from "../session.js";
import { Busy, ErrorMessage, Field, Link, Notice, Screen, Select, TextArea, useLoad } from "../ui/kit.js";
import "./proposals.css";

const STATUSES = ["open", "accepted", "merged", "released", "rejected", "withdrawn"] as const;

export function ProposalsScreen(props: ScreenProps) {
  const parts = props.rest.split("/").filter((p) => p !== "");
  if (parts.length === 2)
    return (
      <ProposalPage
        me={props.me}
        proposal={`${decodeURIComponent(parts[0] ?? "")}/${decodeURIComponent(parts[1] ?? "")}`}
      />
    );
  return <ProposalList me={props.me} />;
}

const isSecretariat = (me: Me) => me.hubRole === "secretariat";

function proposalHref(ref: string): string {
  return `/proposals/${ref.split("/").map(encodeURIComponent).join("/")}`;
}

function target(p: Pick<Proposal, "targetKind" | "targetId">): string {
  return t(p.targetKind === "module" ? "proposals.target.module" : "proposals.target.item", { id: p.targetId });
}

/** What a proposal changes, in one phrase (as `proposals list` says it). */
function describeChange(p: Proposal): string {
  const what = target(p);
  switch (p.change?.kind) {
    case "text":
      return t("proposals.change.text", { target: what, language: languageName(p.change.language) });
    case "outcomes":
      return t("proposals.change.outcomes", { target: what, count: p.change.outcomes.length });
    default:
      return t("proposals.change.case", { target: what, case: p.change?.case ?? "" });
  }
}

function StatusBadge(props: { proposal: Proposal }) {
  const p = props.proposal;
  const tone = p.status === "rejected" || p.status === "withdrawn" ? "bad" : p.status === "open" ? "warn" : "ok";
  return (
    <span class={`badge ${tone}`}>
      {p.status === "released"
        ? t("proposals.status.releasedIn", { version: p.releasedIn })
        : t(`proposals.status.${p.status}`)}
    </span>
  );
}

// ---------------------------------------------------------------------------------------------
// the list

interface Filter {
  status: string;
  search: string;
}

function filterFromAddress(): Filter {
  const q = queryParams();
  const status = q.get("status") ?? "";
  return { status: (STATUSES as readonly string[]).includes(status) ? status : "", search: q.get("q") ?? "" };
}

function ProposalList(props: { me: Me }) {
  const [filter, setFilter] = useState<Filter>(filterFromAddress);
  const [proposed, setProposed] = useState<Proposal | undefined>(undefined);
  // Other hubs' changes come with their checkpoints; this node's own (from the CLI, another tab)
  // with the next heartbeat at the latest.
  const live = useLive("checkpoint", "release", "heartbeat");
  const loaded = useLoad(
    (signal) =>
      api.feedback.listProposals({ hub: "", status: filter.status, target: "", search: filter.search }, { signal }),
    [filter.status, filter.search, proposed],
    live,
  );
  const set = (patch: Partial<Filter>) => {
    const next = { ...filter, ...patch };
    setFilter(next);
    const params = new URLSearchParams();
    if (next.status) params.set("status", next.status);
    if (next.search) params.set("q", next.search);
    const query = params.toString();
    navigate(`/proposals${query ? `?${query}` : ""}`, true);
  };
  const proposals = loaded.data?.proposals ?? [];
  const mayPropose = !isSecretariat(props.me) && may("operator");
  return (
    <Screen title={t("proposals.title")}>
      <p>{t("proposals.intro")}</p>
      <form class="proposal-filter" aria-label={t("proposals.filter.label")} onSubmit={(e) => e.preventDefault()}>
        <div class="row">
          <Select
            label={t("proposals.filter.status")}
            value={filter.status}
            onValue={(v) => set({ status: v })}
            options={[
              { value: "", label: t("proposals.filter.all") },
              ...STATUSES.map((s) => ({ value: s, label: t(`proposals.status.${s}`) })),
            ]}
          />
          <Field
            label={t("proposals.filter.search")}
            hint={t("proposals.filter.searchHint")}
            type="search"
            value={filter.search}
            onValue={(v) => set({ search: v })}
            autoComplete="off"
          />
        </div>
      </form>
      {proposed ? <Notice tone="ok">{t("proposals.propose.done", { ref: proposed.ref })}</Notice> : null}
      <ErrorMessage error={loaded.error} />
      {loaded.data === undefined ? (
        loaded.error ? null : (
          <Busy />
        )
      ) : proposals.length === 0 ? (
        <p role="status">{filter.status || filter.search ? t("proposals.noMatch") : t("proposals.none")}</p>
      ) : (
        <div class="table-wrap" aria-busy={loaded.loading ? "true" : undefined}>
          <table class="cards proposal-table">
            <caption>{t("proposals.caption", { count: proposals.length })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("proposals.col.proposal")}</th>
                <th scope="col">{t("proposals.col.changes")}</th>
                <th scope="col">{t("proposals.col.status")}</th>
                <th scope="col">{t("proposals.col.support")}</th>
                <th scope="col">{t("proposals.col.comments")}</th>
                <th scope="col">{t("proposals.col.proposed")}</th>
              </tr>
            </thead>
            <tbody>
              {proposals.map((p) => (
                <tr key={p.ref} data-proposal={p.ref}>
                  <th scope="row" data-label={t("proposals.col.proposal")}>
                    <Link href={proposalHref(p.ref)}>{p.ref}</Link>
                  </th>
                  <td data-label={t("proposals.col.changes")}>{describeChange(p)}</td>
                  <td data-label={t("proposals.col.status")} data-status={p.status}>
                    <StatusBadge proposal={p} />
                  </td>
                  <td data-label={t("proposals.col.support")} class="num" data-figure="support">
                    {formatNumber(p.supporters.length)}
                  </td>
                  <td data-label={t("proposals.col.comments")} class="num" data-figure="comments">
                    {formatNumber(p.comments.length)}
                  </td>
                  <td data-label={t("proposals.col.proposed")}>{p.proposedAt ? formatDay(p.proposedAt) : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {mayPropose ? <ProposeForm onProposed={setProposed} /> : null}
      {isSecretariat(props.me) ? <Candidates /> : null}
    </Screen>
  );
}

// ---------------------------------------------------------------------------------------------
// proposing

type ChangeKind = "text" | "outcomes" | "cite-case";

const lines = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");

/** An evidence line `KIND:REF` (case:HUB/CASE-ID, delivery:ID, figure:words); the API judges it. */
function evidenceOf(line: string) {
  const colon = line.indexOf(":");
  return colon < 0
    ? { kind: "", ref: line, note: "" }
    : { kind: line.slice(0, colon).trim(), ref: line.slice(colon + 1).trim(), note: "" };
}

function ProposeForm(props: { onProposed: (p: Proposal) => void }) {
  const [id, setId] = useState("");
  const [targetKind, setTargetKind] = useState<"item" | "module">("item");
  const [targetId, setTargetId] = useState("");
  const [kind, setKind] = useState<ChangeKind>("text");
  const [text, setText] = useState("");
  const [language, setLanguage] = useState("en");
  const [outcomes, setOutcomes] = useState("");
  const [citedCase, setCitedCase] = useState("");
  const [reason, setReason] = useState("");
  const [evidence, setEvidence] = useState("");
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(undefined);
  const errors = fieldErrors(failure);
  // Each violation at its field; those under one list (outcomes, evidence) joined, naming the line.
  const at = (prefix: string): string | undefined => {
    const found = [...errors]
      .filter(([field]) => field === prefix || field.startsWith(`${prefix}.`))
      .map(([field, text]) => {
        const line = /^\d+/.exec(field.slice(prefix.length + 1))?.[0];
        return line === undefined ? text : t("proposals.propose.line", { line: Number(line) + 1, problem: text });
      });
    return found.length > 0 ? found.join("; ") : undefined;
  };
  const placed = [
    "proposal.id",
    "proposal.target",
    "proposal.change.kind",
    "proposal.change.text",
    "proposal.change.language",
    "proposal.change.outcomes",
    "proposal.change.case",
    "proposal.reason",
    "proposal.evidence",
  ];
  const others = [...errors].filter(([field]) => !placed.some((p) => field === p || field.startsWith(`${p}.`)));
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setFailure(undefined);
    try {
      const saved = await api.feedback.propose({
        id: id.trim(),
        targetKind,
        targetId: targetId.trim(),
        change: {
          kind,
          text: kind === "text" ? text : "",
          language: kind === "text" ? language.trim() : "",
          outcomes: kind === "outcomes" ? lines(outcomes) : [],
          case: kind === "cite-case" ? citedCase.trim() : "",
        },
        reason,
        evidence: lines(evidence).map(evidenceOf),
      });
      setId("");
      setTargetId("");
      setText("");
      setOutcomes("");
      setCitedCase("");
      setReason("");
      setEvidence("");
      props.onProposed(saved);
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="proposal-form" aria-labelledby="proposals-propose">
      <h2 id="proposals-propose">{t("proposals.propose.title")}</h2>
      <p>{t("proposals.propose.intro")}</p>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <div class="row">
          <Field
            label={t("proposals.propose.id")}
            hint={t("proposals.propose.idHint")}
            value={id}
            onValue={setId}
            error={errors.get("proposal.id")}
            autoComplete="off"
            spellcheck={false}
          />
          <Select
            label={t("proposals.propose.targetKind")}
            value={targetKind}
            onValue={(v) => setTargetKind(v === "module" ? "module" : "item")}
            options={[
              { value: "item", label: t("proposals.propose.targetKind.item") },
              { value: "module", label: t("proposals.propose.targetKind.module") },
            ]}
            error={errors.get("proposal.target.kind")}
          />
          <Field
            label={t("proposals.propose.targetId")}
            value={targetId}
            onValue={setTargetId}
            error={at("proposal.target.id")}
            autoComplete="off"
            spellcheck={false}
          />
        </div>
        <Select
          label={t("proposals.propose.kind")}
          value={kind}
          onValue={(v) => setKind(v === "outcomes" ? "outcomes" : v === "cite-case" ? "cite-case" : "text")}
          options={[
            { value: "text", label: t("proposals.propose.kind.text") },
            { value: "outcomes", label: t("proposals.propose.kind.outcomes") },
            { value: "cite-case", label: t("proposals.propose.kind.case") },
          ]}
          error={errors.get("proposal.change.kind")}
        />
        {kind === "text" ? (
          <div class="row">
            <TextArea
              label={t("proposals.propose.text")}
              value={text}
              onValue={setText}
              error={errors.get("proposal.change.text")}
              rows={3}
            />
            <Field
              label={t("proposals.propose.language")}
              hint={t("proposals.propose.languageHint")}
              value={language}
              onValue={setLanguage}
              error={errors.get("proposal.change.language")}
              autoComplete="off"
              spellcheck={false}
            />
          </div>
        ) : kind === "outcomes" ? (
          <TextArea
            label={t("proposals.propose.outcomes")}
            hint={t("proposals.propose.outcomesHint")}
            value={outcomes}
            onValue={setOutcomes}
            error={at("proposal.change.outcomes")}
            rows={4}
          />
        ) : (
          <Field
            label={t("proposals.propose.case")}
            hint={t("proposals.propose.caseHint")}
            value={citedCase}
            onValue={setCitedCase}
            error={errors.get("proposal.change.case")}
            autoComplete="off"
            spellcheck={false}
          />
        )}
        <TextArea
          label={t("proposals.propose.reason")}
          hint={t("proposals.propose.reasonHint")}
          value={reason}
          onValue={setReason}
          error={errors.get("proposal.reason")}
          rows={4}
        />
        <TextArea
          label={t("proposals.propose.evidence")}
          hint={t("proposals.propose.evidenceHint")}
          value={evidence}
          onValue={setEvidence}
          error={at("proposal.evidence")}
          rows={3}
        />
        {failure !== undefined ? (
          <p class="error" role="alert">
            {others.length > 0
              ? others.map(([f, d]) => `${f}: ${d}`).join("; ")
              : errors.size > 0
                ? t("proposals.fix")
                : errorText(failure)}
          </p>
        ) : null}
        <button type="submit" disabled={busy}>
          {busy ? t("proposals.propose.busy") : t("proposals.propose.submit")}
        </button>
      </form>
    </section>
  );
}

// ---------------------------------------------------------------------------------------------
// candidates for the core (the secretariat)

function Candidates() {
  const live = useLive("checkpoint", "release", "curriculum");
  const loaded = useLoad((signal) => api.feedback.candidates({ minHubs: 2 }, { signal }), [], live);
  const candidates: readonly Candidate[] = loaded.data?.candidates ?? [];
  return (
    <section aria-labelledby="proposals-candidates">
      <h2 id="proposals-candidates">{t("proposals.candidates.title")}</h2>
      <p>{t("proposals.candidates.intro")}</p>
      <ErrorMessage error={loaded.error} />
      {loaded.data === undefined ? (
        loaded.error ? null : (
          <Busy />
        )
      ) : candidates.length === 0 ? (
        <p>{t("proposals.candidates.none")}</p>
      ) : (
        <div class="table-wrap">
          <table class="cards candidate-table">
            <caption>{t("proposals.candidates.caption", { count: candidates.length })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("proposals.candidates.col.record")}</th>
                <th scope="col">{t("proposals.candidates.col.aspect")}</th>
                <th scope="col">{t("proposals.candidates.col.hubs")}</th>
                <th scope="col">{t("proposals.candidates.col.agreeing")}</th>
                <th scope="col">{t("proposals.candidates.col.common")}</th>
                <th scope="col">{t("proposals.candidates.col.core")}</th>
                <th scope="col">{t("proposals.candidates.col.proposals")}</th>
              </tr>
            </thead>
            <tbody>
              {candidates.map((c) => (
                <tr key={`${c.targetKind}:${c.targetId}:${c.aspect}`} data-candidate={`${c.targetId}|${c.aspect}`}>
                  <th scope="row" data-label={t("proposals.candidates.col.record")}>
                    {target(c)}
                  </th>
                  <td data-label={t("proposals.candidates.col.aspect")}>{aspectName(c.aspect)}</td>
                  <td data-label={t("proposals.candidates.col.hubs")}>
                    {[...new Set(c.hubs.map((h) => h.hub))].join(", ")}
                  </td>
                  <td data-label={t("proposals.candidates.col.agreeing")} class="num" data-figure="agreeing">
                    {formatNumber(c.agreeing)}
                  </td>
                  <td data-label={t("proposals.candidates.col.common")} data-figure="common">
                    {c.commonValue}
                  </td>
                  <td data-label={t("proposals.candidates.col.core")} data-figure="core">
                    {c.core || "—"}
                  </td>
                  <td data-label={t("proposals.candidates.col.proposals")}>
                    {c.proposals.length === 0 ? (
                      "—"
                    ) : (
                      <ul class="plain">
                        {c.proposals.map((ref) => (
                          <li key={ref}>
                            <Link href={proposalHref(ref)}>{ref}</Link>
                          </li>
                        ))}
                      </ul>
                    )}
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

/** statement:LANG | title:LANG | duration | scenario, in the person's language. */
function aspectName(aspect: string): string {
  const [name, lang] = aspect.split(":");
  switch (name) {
    case "statement":
      return t("proposals.aspect.statement", { language: languageName(lang ?? "") });
    case "title":
      return t("proposals.aspect.title", { language: languageName(lang ?? "") });
    case "duration":
      return t("proposals.aspect.duration");
    case "scenario":
      return t("proposals.aspect.scenario");
    default:
      return aspect;
  }
}

// ---------------------------------------------------------------------------------------------
// one proposal

function ProposalPage(props: { me: Me; proposal: string }) {
  const live = useLive("checkpoint", "release", "heartbeat");
  const [done, setDone] = useState<{ message: string; proposal: Proposal } | undefined>(undefined);
  const loaded = useLoad(
    (signal) => api.feedback.getProposal({ proposal: props.proposal }, { signal }),
    [props.proposal, done],
    live,
  );
  const p = loaded.data;
  const acted = (message: string) => (proposal: Proposal) => setDone({ message, proposal });
  const own = p?.hub === props.me.hubId;
  const open = p !== undefined && p.status !== "withdrawn" && p.status !== "released";
  const mayComment = p !== undefined && open && !own && !isSecretariat(props.me) && may("operator");
  const mayDecide = p !== undefined && open && isSecretariat(props.me) && may("admin");
  const mayWithdraw = p !== undefined && own && p.status === "open" && may("operator");
  return (
    <Screen title={t("proposals.detail.title", { ref: props.proposal })}>
      <p>
        <Link href="/proposals">{t("proposals.back")}</Link>
      </p>
      {done ? <Notice tone="ok">{done.message}</Notice> : null}
      <ErrorMessage error={loaded.error} />
      {p === undefined ? (
        loaded.error ? null : (
          <Busy />
        )
      ) : (
        <div class="proposal" aria-busy={loaded.loading ? "true" : undefined}>
          <dl class="facts">
            <dt>{t("proposals.detail.status")}</dt>
            <dd data-status={p.status}>
              <StatusBadge proposal={p} />
            </dd>
            <dt>{t("proposals.detail.hub")}</dt>
            <dd>{p.hub}</dd>
            <dt>{t("proposals.detail.changes")}</dt>
            <dd>{describeChange(p)}</dd>
            <dt>{t("proposals.detail.against")}</dt>
            <dd>{p.against || t("common.none")}</dd>
            <dt>{t("proposals.detail.proposed")}</dt>
            <dd>{t("proposals.detail.proposedBy", { at: formatTime(p.proposedAt), by: p.proposedBy })}</dd>
            <dt>{t("proposals.detail.supporters")}</dt>
            <dd data-figure="supporters">
              {p.supporters.length === 0 ? t("proposals.detail.noSupporters") : p.supporters.join(", ")}
            </dd>
          </dl>
          <ProposedChange proposal={p} />
          <h2>{t("proposals.detail.reason")}</h2>
          <p class="prose" dir="auto">
            {p.reason}
          </p>
          <h2>{t("proposals.detail.evidence")}</h2>
          {p.evidence.length === 0 ? (
            <p>{t("proposals.detail.noEvidence")}</p>
          ) : (
            <ul>
              {p.evidence.map((e, i) => (
                <li key={`${i}:${e.ref}`}>
                  <span class="badge">{t(`proposals.evidence.${e.kind}`)}</span> <bdi>{e.ref}</bdi>
                  {e.note ? <span class="muted"> — {e.note}</span> : null}
                </li>
              ))}
            </ul>
          )}
          <Decision proposal={p} />
          <section aria-labelledby="proposal-comments">
            <h2 id="proposal-comments">{t("proposals.detail.comments", { count: p.comments.length })}</h2>
            {p.comments.length === 0 ? (
              <p>{t("proposals.detail.noComments")}</p>
            ) : (
              <ol class="comments">
                {p.comments.map((c, i) => (
                  <li key={`${c.hub}:${c.at}:${i}`} data-hub={c.hub} data-stance={c.stance}>
                    <p class="comment-head">
                      <strong>{c.hub}</strong>{" "}
                      <span class={`badge ${c.stance === "object" ? "bad" : c.stance === "support" ? "ok" : ""}`}>
                        {t(`proposals.stance.${c.stance}`)}
                      </span>{" "}
                      <span class="muted">{formatTime(c.at)}</span>
                    </p>
                    {c.text ? (
                      <p class="prose" dir="auto">
                        {c.text}
                      </p>
                    ) : null}
                  </li>
                ))}
              </ol>
            )}
          </section>
          {mayComment ? (
            <CommentForm
              proposal={p}
              supported={p.supporters.includes(props.me.hubId)}
              onDone={(stance, saved) => acted(t(`proposals.comment.done.${stance}`, { ref: saved.ref }))(saved)}
            />
          ) : null}
          {mayDecide ? (
            <DecideForm
              proposal={p}
              onDone={(saved) =>
                acted(t(`proposals.decide.done.${saved.decision?.outcome ?? "accepted"}`, { ref: saved.ref }))(saved)
              }
            />
          ) : null}
          {mayWithdraw ? (
            <Withdraw proposal={p} onDone={(saved) => acted(t("proposals.withdraw.done", { ref: saved.ref }))(saved)} />
          ) : null}
        </div>
      )}
    </Screen>
  );
}

function ProposedChange(props: { proposal: Proposal }) {
  const c = props.proposal.change;
  return (
    <section aria-labelledby="proposal-change">
      <h2 id="proposal-change">{t("proposals.detail.change")}</h2>
      {c?.kind === "text" ? (
        <blockquote class="prose" dir="auto" lang={c.language || undefined}>
          {c.text}
        </blockquote>
      ) : c?.kind === "outcomes" ? (
        <ol>
          {c.outcomes.map((o, i) => (
            <li key={`${i}:${o}`} dir="auto">
              {o}
            </li>
          ))}
        </ol>
      ) : (
        <p>{t("proposals.detail.cite", { case: c?.case ?? "" })}</p>
      )}
    </section>
  );
}

function Decision(props: { proposal: Proposal }) {
  const p = props.proposal;
  const d = p.decision;
  return (
    <section aria-labelledby="proposal-decision">
      <h2 id="proposal-decision">{t("proposals.detail.decision")}</h2>
      {d === undefined ? (
        <p>{t("proposals.detail.undecided")}</p>
      ) : (
        <dl class="facts">
          <dt>{t("proposals.detail.outcome")}</dt>
          <dd data-outcome={d.outcome}>{t(`proposals.status.${d.outcome}`)}</dd>
          <dt>{t("proposals.detail.decidedAt")}</dt>
          <dd>{t("proposals.detail.proposedBy", { at: formatTime(d.at), by: d.by })}</dd>
          <dt>{t("proposals.detail.decisionReason")}</dt>
          <dd class="prose" dir="auto">
            {d.reason || t("common.none")}
          </dd>
        </dl>
      )}
      <p data-released={p.releasedIn || undefined}>
        {p.releasedIn
          ? t("proposals.detail.released", { version: p.releasedIn })
          : d && d.outcome !== "rejected"
            ? t("proposals.detail.nextRelease")
            : t("proposals.detail.notReleased")}
      </p>
    </section>
  );
}

type Stance = "support" | "comment" | "object";

function CommentForm(props: {
  proposal: Proposal;
  supported: boolean;
  onDone: (stance: Stance, saved: Proposal) => void;
}) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(undefined);
  const errors = fieldErrors(failure);
  const send = async (stance: Stance) => {
    setBusy(true);
    setFailure(undefined);
    try {
      const saved = await api.feedback.commentProposal({ proposal: props.proposal.ref, stance, text });
      setText("");
      props.onDone(stance, saved);
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="proposal-action" aria-labelledby="proposal-respond">
      <h2 id="proposal-respond">{t("proposals.comment.title")}</h2>
      <p>{props.supported ? t("proposals.comment.supported") : t("proposals.comment.intro")}</p>
      <form onSubmit={(e) => e.preventDefault()} noValidate>
        <TextArea
          label={t("proposals.comment.text")}
          hint={t("proposals.comment.textHint")}
          value={text}
          onValue={setText}
          error={errors.get("comment.text")}
          rows={3}
        />
        {failure !== undefined && !errors.has("comment.text") ? <ErrorMessage error={failure} /> : null}
        <div class="row">
          {props.supported ? null : (
            <button type="button" disabled={busy} onClick={() => void send("support")}>
              {t("proposals.comment.support")}
            </button>
          )}
          <button type="button" class="secondary" disabled={busy} onClick={() => void send("comment")}>
            {t("proposals.comment.comment")}
          </button>
          <button type="button" class="secondary" disabled={busy} onClick={() => void send("object")}>
            {t("proposals.comment.object")}
          </button>
        </div>
      </form>
    </section>
  );
}

function DecideForm(props: { proposal: Proposal; onDone: (saved: Proposal) => void }) {
  const [outcome, setOutcome] = useState<"accepted" | "merged" | "rejected">("accepted");
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(undefined);
  const errors = fieldErrors(failure);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setFailure(undefined);
    try {
      const saved = await api.feedback.decideProposal({ proposal: props.proposal.ref, outcome, reason });
      setReason("");
      props.onDone(saved);
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="proposal-action" aria-labelledby="proposal-decide">
      <h2 id="proposal-decide">{t("proposals.decide.title")}</h2>
      {props.proposal.decision ? <p>{t("proposals.decide.again")}</p> : null}
      <form onSubmit={(e) => void submit(e)} noValidate>
        <fieldset>
          <legend>{t("proposals.decide.outcome")}</legend>
          {(["accepted", "merged", "rejected"] as const).map((o) => (
            <label key={o} class="choice">
              <input type="radio" name="outcome" value={o} checked={outcome === o} onChange={() => setOutcome(o)} />
              {t(`proposals.decide.${o}`)}
            </label>
          ))}
        </fieldset>
        <TextArea
          label={t("proposals.decide.reason")}
          hint={t("proposals.decide.reasonHint")}
          value={reason}
          onValue={setReason}
          error={errors.get("decision.reason")}
          required={outcome === "rejected"}
          rows={3}
        />
        {failure !== undefined && !errors.has("decision.reason") ? <ErrorMessage error={failure} /> : null}
        <button type="submit" disabled={busy}>
          {busy ? t("proposals.decide.busy") : t("proposals.decide.submit")}
        </button>
      </form>
    </section>
  );
}

function Withdraw(props: { proposal: Proposal; onDone: (saved: Proposal) => void }) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(undefined);
  const id = props.proposal.id;
  const withdraw = async () => {
    setBusy(true);
    setFailure(undefined);
    try {
      props.onDone(await api.feedback.withdrawProposal({ id }));
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="proposal-action" aria-labelledby="proposal-withdraw">
      <h2 id="proposal-withdraw">{t("proposals.withdraw.title")}</h2>
      <p>{t("proposals.withdraw.intro")}</p>
      <ErrorMessage error={failure} />
      <button type="button" class="danger" disabled={busy} onClick={() => void withdraw()}>
        {t("proposals.withdraw.submit")}
      </button>
    </section>
  );
}
