import * as A from "@automerge/automerge";
import type { Checkpointer, VerifiedViews } from "../authority/index.js";
import type { SignedCheckpoint } from "../authority/index.js";
import type { CoreSource } from "../core/index.js";
import type { CoreContent } from "../core/index.js";
import { isDay } from "../deliveries/index.js";
import { documentTypeOf, type OwnedDocuments } from "../documents/index.js";
import { failedPrecondition, invalidArgument, type FieldViolation } from "../errors.js";
import { charterIdOf, readCharter, type Membership } from "../federation/index.js";
import { quote } from "../text.js";
import { compareBaseline, parsePeriod, type BaselineReport } from "./baseline.js";
import { computeCoverage, type CoverageReport } from "./coverage.js";
import { REPORTED_TYPES, ReportCache, reportInputOf, type SignedDocument, type SignedState } from "./signed-state.js";

/**
 * Reports computed from what the federation signed: this hub's documents as of its own latest
 * checkpoints (pending ones are signed first), every other hub's as of its latest verified
 * checkpoint, the charter and the core's releases as signed. The report carries those checkpoints,
 * so that an auditor can rebuild the same input from an audit bundle and recompute it
 * (`report verify`).
 */
export class Reports {
  readonly #self: string;
  readonly #documents: OwnedDocuments;
  readonly #checkpointer: Checkpointer;
  readonly #views: VerifiedViews;
  readonly #membership: Membership;
  readonly #core: CoreSource;
  /** Decoded rosters by signed heads, kept from one report to the next (signed-state.ts). */
  readonly #cache = new ReportCache();

  constructor(
    init: { hubId: string },
    c: {
      documents: OwnedDocuments;
      checkpointer: Checkpointer;
      views: VerifiedViews;
      membership: Membership;
      core: CoreSource;
    },
  ) {
    this.#self = init.hubId;
    this.#documents = c.documents;
    this.#checkpointer = c.checkpointer;
    this.#views = c.views;
    this.#membership = c.membership;
    this.#core = c.core;
  }

  async coverage(options: { from: string; to: string; publicOnly: boolean; now?: string }): Promise<CoverageReport> {
    const violations: FieldViolation[] = [];
    if (!isDay(options.from))
      violations.push({ field: "from", description: `${quote(options.from)} is not a date (YYYY-MM-DD)` });
    if (!isDay(options.to))
      violations.push({ field: "to", description: `${quote(options.to)} is not a date (YYYY-MM-DD)` });
    if (isDay(options.from) && isDay(options.to) && options.to < options.from)
      violations.push({ field: "to", description: "is before from" });
    if (violations.length > 0) throw invalidArgument(violations);
    const generatedAt = options.now ?? new Date().toISOString();
    const state = await this.signedState();
    const input = await reportInputOf(
      state,
      {
        generatedAt,
        asOf: generatedAt,
        period: { from: options.from, to: options.to },
        publicOnly: options.publicOnly,
      },
      this.#cache,
    );
    this.#cache.sweep();
    return computeCoverage(input);
  }

  /**
   * Two periods side by side (`2026-Q1`, `2026-H2`, `2026-03`, `2026` or `FROM..TO`): the coverage of
   * each, from the same signed state, with accreditations judged at each period's end (or now, for
   * one not over yet), and the change in every figure.
   */
  async baseline(options: {
    period: string;
    against: string;
    publicOnly: boolean;
    now?: string;
  }): Promise<BaselineReport> {
    const violations: FieldViolation[] = [];
    const period = parsePeriod(options.period, "period", violations);
    const against = parsePeriod(options.against, "against", violations);
    if (!period || !against) throw invalidArgument(violations);
    const generatedAt = options.now ?? new Date().toISOString();
    const state = await this.signedState();
    const at = (p: { to: string }) => (`${p.to}T23:59:59.999Z` < generatedAt ? `${p.to}T23:59:59.999Z` : generatedAt);
    const current = computeCoverage(
      await reportInputOf(
        state,
        { generatedAt, asOf: at(period), period, publicOnly: options.publicOnly },
        this.#cache,
      ),
    );
    const base = computeCoverage(
      await reportInputOf(
        state,
        { generatedAt, asOf: at(against), period: against, publicOnly: options.publicOnly },
        this.#cache,
      ),
    );
    this.#cache.sweep();
    return compareBaseline(current, base, { period: period.label, against: against.label });
  }

  /** What this node holds as signed, now: pending changes are checkpointed first. */
  async signedState(): Promise<SignedState> {
    await this.#checkpointer.flush();
    const anchor = this.#membership.anchor;
    if (!anchor) throw failedPrecondition("this node has no trust anchor: join a federation first");
    const charterId = charterIdOf(anchor);
    const documents: SignedDocument[] = [];
    let charter: SignedState["charter"] | undefined;
    for (const d of this.#documents.describe()) {
      if (!d.replicated) continue;
      const signed = this.#checkpointer.latest(d.id);
      if (!signed) continue;
      const doc = A.view(this.#documents.get<unknown>(d.key) as A.Doc<unknown>, signed.checkpoint.heads);
      if (d.id === charterId) charter = { signed, state: readCharter(doc).state };
      else if (REPORTED_TYPES.has(d.header.type)) documents.push({ hub: this.#self, type: d.header.type, signed, doc });
    }
    for (const view of this.#views.views()) {
      const signed: SignedCheckpoint = { checkpoint: view.checkpoint, signature: view.signature };
      if (view.documentId === charterId) {
        charter = { signed, state: readCharter(view.doc).state };
        continue;
      }
      const type = documentTypeOf(view.doc) ?? "";
      if (REPORTED_TYPES.has(type)) documents.push({ hub: view.hub, type, signed, doc: view.doc });
    }
    if (!charter)
      throw failedPrecondition(
        "no signed charter here yet: wait until this node has verified the federation's charter",
      );
    const releases: SignedState["releases"] = [];
    for (const signed of await this.#core.signed()) {
      const content: CoreContent | undefined = await this.#core.content(signed.checkpoint.version);
      if (content) releases.push({ signed, content });
    }
    return { charter, releases, documents };
  }
}
