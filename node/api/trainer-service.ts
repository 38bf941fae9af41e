import { invalidArgument, permissionDenied, resourceExhausted } from "../errors.js";
import { hasRole, type Operator } from "../operators/index.js";
import type { ImportRowInput, Roster } from "../roster/index.js";
import { draftFromMessage, trainerToMessage } from "./convert.js";
import {
  ImportRow,
  TrainerServiceService,
  type ImportOptions,
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

export function trainerService(components: HandlerComponents & { roster: Roster }): TrainerServiceServer {
  const { roster } = components;
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
    getTrainerHistory: unary(components, "GetTrainerHistory", "viewer", (req) => {
      const id = req.id.trim();
      roster.get(id, false); // NOT_FOUND for an unknown trainer
      return {
        entries: roster
          .history(id)
          .map((r) => ({ time: new Date(r.time).toISOString(), operatorId: r.operatorId, action: r.action })),
      };
    }),
  };
}
