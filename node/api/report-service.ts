import type { Reports } from "../reports/index.js";
import { ReportServiceService, type ReportServiceServer } from "./generated/concordat/v1/reports.js";
import { unary, type HandlerComponents } from "./handlers.js";

export { ReportServiceService };

export function reportService(components: HandlerComponents & { reports: Reports }): ReportServiceServer {
  const { reports } = components;
  return {
    coverageReport: unary(components, "CoverageReport", "viewer", async (req) => ({
      json: JSON.stringify(
        await reports.coverage({ from: req.from.trim(), to: req.to.trim(), publicOnly: req.publicOnly }),
      ),
    })),
    baselineReport: unary(components, "BaselineReport", "viewer", async (req) => ({
      json: JSON.stringify(
        await reports.baseline({ period: req.period.trim(), against: req.against.trim(), publicOnly: req.publicOnly }),
      ),
    })),
  };
}
