/** Writing the CSV trainer file (docs/trainer-files.md, "CSV"); reading is in csv.ts, which the web console's page bundles. */
import { stringify } from "csv-stringify/sync";
import type { Trainer } from "../../node/api/generated/concordat/v1/trainers.js";
import { CSV_COLUMNS, cellsOfTrainer, PRIVATE_CSV_COLUMNS } from "./cells.js";

/**
 * @throws Error when a list item cannot be written so that it reads back the same (e.g. a region
 *   containing `;`, an empty language level); the JSON format has no such limits.
 */
export function formatCsv(trainers: readonly Trainer[], includePrivate: boolean): string {
  const columns = CSV_COLUMNS.filter((c) => includePrivate || !PRIVATE_CSV_COLUMNS.includes(c));
  const problems: string[] = [];
  const records = trainers.map((t) => {
    const cell = cellsOfTrainer(t, problems);
    return columns.map((c) => cell[c]);
  });
  if (problems.length > 0) {
    throw new Error(
      `cannot write these values to CSV so that they read back unchanged (use the JSON format):\n  ${problems.join("\n  ")}`,
    );
  }
  // Cells holding a line end of either kind must be quoted; csv-stringify only looks for its
  // own record delimiter when one is configured, so say so explicitly.
  return stringify([[...columns], ...records], { record_delimiter: "unix", quoted_match: /[\r\n]/ });
}
