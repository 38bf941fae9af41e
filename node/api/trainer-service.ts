import { invalidArgument, permissionDenied, resourceExhausted } from "../errors.js";
import { hasRole, type Operator } from "../operators/index.js";
import type { VerifiedViews } from "../authority/index.js";
import type { Membership } from "../federation/index.js";
import {
  TrainerMoves,
  type ImportRowInput,
  type Roster,
  type Trainer as RosterTrainer,
  type TrainerHistory,
} from "../roster/index.js";
import { draftFromMessage, trainerToMessage } from "./convert.js";
import {
  ImportRow,
  TrainerServiceService,
  type ImportOptions,
  type GetTrainerHistoryResponse,
  type ImportTrainersRequest,
  type Trainer,
  type TrainerServiceServer,
} from "./generated/concordat/v1/trainers.js";
import { clientStream, serverStream, unary, type HandlerComponents } from "./handlers.js";

export { TrainerServiceService };

/** Personal data is for operators and admins of this hub; viewers see the public record. */
const seesPrivate = (operator: Operator): boolean => hasRole(operator.role, "operator");

/** Rows accepted in one import stream; larger imports are split by the client into several files. */
export const MAX_IMPORT_ROWS = 200_000;
export const MAX_IMPORT_ERRORS_SENT = 1000;
/**
 * Bytes of one row (as encoded on the wire): several times the largest trainer the validators
 * accept (about 120 KB with every list at its limit), so that only the validators judge real rows.
 */
export const MAX_IMPORT_ROW_BYTES = 256 * 1024;
/** Bytes of all rows of one import stream: the node holds them all until it has checked every one. */
export const MAX_IMPORT_BYTES = 64 * 1024 * 1024;

export function trainerService(
  components: HandlerComponents & {
    roster: Roster;
    views: VerifiedViews;
    membership: Membership;
    info: { hubId: string };
  },
): TrainerServiceServer {
  const { roster } = components;
  const moves = new TrainerMoves({ hubId: components.info.hubId }, components);
  return {
    addTrainer: unary(components, "AddTrainer", "operator", async (req, ctx) => {
      const trainer = await roster.add(draftFromMessage(req.trainer), ctx.operator.id);
      return trainerToMessage(trainer);
    }),
    getTrainer: unary(components, "GetTrainer", "viewer", (req, ctx) =>
      trainerToMessage(roster.get(req.id.trim(), seesPrivate(ctx.operator))),
    ),
    listTrainers: unary(components, "ListTrainers", "viewer", (req, ctx) => {
      const page = roster.list({
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        includePrivate: seesPrivate(ctx.operator),
      });
      return { trainers: page.trainers.map(trainerToMessage), nextPageToken: page.nextPageToken, total: page.total };
    }),
    updateTrainer: unary(components, "UpdateTrainer", "operator", async (req, ctx) => {
      const trainer = await roster.update(draftFromMessage(req.trainer), req.updateMask, ctx.operator.id);
      return trainerToMessage(trainer);
    }),
    removeTrainer: unary(components, "RemoveTrainer", "operator", async (req, ctx) => {
      await roster.remove(req.id.trim(), ctx.operator.id);
      return {};
    }),
    importTrainers: clientStream(components, "ImportTrainers", "operator", async (requests, ctx) => {
      let options: ImportOptions | undefined;
      const rows: ImportRowInput[] = [];
      let bytes = 0;
      // Each message is bounded by the server's receive limit; each row and the whole stream are
      // bounded here, as the messages arrive, before the node holds more of them.
      for await (const request of requests as AsyncIterable<ImportTrainersRequest>) {
        const part = request.part;
        if (part?.$case === "options") {
          if (options || rows.length > 0)
            throw invalidArgument([{ field: "options", description: "must be sent once, first" }]);
          options = part.value;
        } else if (part?.$case === "rows") {
          if (rows.length + part.value.rows.length > MAX_IMPORT_ROWS) {
            throw invalidArgument([{ field: "rows", description: `more than ${MAX_IMPORT_ROWS} rows in one import` }]);
          }
          for (const row of part.value.rows) {
            const size = ImportRow.encode(row).finish().byteLength;
            if (size > MAX_IMPORT_ROW_BYTES) {
              const description = `the row of line ${row.line} is ${size} bytes; a row of an import may be at most ${MAX_IMPORT_ROW_BYTES / 1024} KiB`;
              throw resourceExhausted(`import refused: ${description}`, [
                { field: `rows[${rows.length}]`, description },
              ]);
            }
            bytes += size;
            if (bytes > MAX_IMPORT_BYTES) {
              const description = `the rows up to line ${row.line} are over ${MAX_IMPORT_BYTES / (1024 * 1024)} MiB, the most one import may hold; split the file and import the parts one after the other`;
              throw resourceExhausted(`import refused: ${description}`, [{ field: "rows", description }]);
            }
            rows.push({ line: row.line, trainer: draftFromMessage(row.trainer) });
          }
        }
      }
      const outcome = await roster.import(
        rows,
        {
          skipInvalid: options?.skipInvalid ?? false,
          dryRun: options?.dryRun ?? false,
          upsert: options?.upsert ?? false,
        },
        ctx.operator.id,
      );
      // A reply must stay well under gRPC's message limit: send the first problems and the count.
      return {
        ...outcome,
        errors: outcome.errors.slice(0, MAX_IMPORT_ERRORS_SENT),
        errorsTotal: outcome.errors.length,
      };
    }),
    exportTrainers: serverStream(
      components,
      "ExportTrainers",
      "viewer",
      async function* (req, ctx): AsyncGenerator<Trainer> {
        if (req.includePrivate && !seesPrivate(ctx.operator)) {
          throw permissionDenied(
            `operator '${ctx.operator.id}' has role '${ctx.operator.role}'; exporting personal data needs 'operator'`,
          );
        }
        for (const trainer of roster.exportAll(req.includePrivate)) yield trainerToMessage(trainer);
      },
    ),
    getTrainerHistory: unary(components, "GetTrainerHistory", "viewer", (req) =>
      // NOT_FOUND for an unknown trainer (or one of another hub not verified here)
      historyToMessage(moves.history((req.hub ?? "").trim(), req.id.trim())),
    ),
    addDeployment: unary(components, "AddDeployment", "operator", async (req, ctx) => {
      const d = req.deployment;
      const trainer = await roster.addDeployment(
        req.id,
        {
          from: d?.from ?? "",
          to: d?.to ?? "",
          role: d?.role ?? "",
          place: d?.place ?? "",
          country: d?.country ?? "",
          module: d?.module ?? "",
          hub: d?.hub ?? "",
          mission: d?.mission ?? "",
        },
        ctx.operator.id,
      );
      return historyToMessage(moves.history("", trainer.id));
    }),
    addLineage: unary(components, "AddLineage", "operator", async (req, ctx) => {
      const l = req.lineage;
      const trainer = await roster.addLineage(
        req.id,
        { trainedBy: l?.trainedBy ?? "", module: l?.module ?? "", on: l?.on ?? "", credential: l?.credential ?? "" },
        ctx.operator.id,
      );
      return historyToMessage(moves.history("", trainer.id));
    }),
    releaseTrainer: unary(components, "ReleaseTrainer", "operator", async (req, ctx) => {
      const trainer = await moves.release(req.id, req.toHub, ctx.operator.id);
      return historyToMessage(moves.history("", trainer.id));
    }),
    acceptTrainer: unary(components, "AcceptTrainer", "operator", async (req, ctx) => {
      const trainer = await moves.accept(req.fromHub, req.id, ctx.operator.id);
      return historyToMessage(moves.history("", trainer.id));
    }),
  };
}

/** A trainer's public record with its service history, and whether a move is signed by both hubs. */
function historyToMessage(h: TrainerHistory): GetTrainerHistoryResponse {
  const { private: _private, ...publicRecord } = h.trainer as RosterTrainer;
  return {
    entries: h.changes.map((r) => ({
      time: new Date(r.time).toISOString(),
      operatorId: r.operatorId,
      action: r.action,
    })),
    trainer: trainerToMessage(publicRecord),
    deployments: (h.trainer.deployments ?? []).map((d) => ({ ...d })),
    trainedBy: (h.trainer.trainedBy ?? []).map((l) => ({ ...l })),
    movedTo: h.trainer.movedTo ? { ...h.trainer.movedTo } : undefined,
    movedFrom: h.trainer.movedFrom ? { ...h.trainer.movedFrom } : undefined,
    moveConfirmed: h.move.confirmed,
    moveDetail: h.move.detail,
    checkpointSeq: h.seq,
  };
}
