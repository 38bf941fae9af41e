import { expect, it } from "vitest";
import { call, exportTrainers, makeTrainer, startTestNode, expectServiceError } from "../helpers/harness.js";
it("smoke", async () => {
  const t = await startTestNode();
  try {
    const c = t.clients(t.adminToken);
    const added = await call(c.trainers, "addTrainer", { trainer: makeTrainer("T1") });
    console.log(t.address, added);
    const h = await call(c.health, "check", { service: "" });
    console.log(h);
    const viewer = await call(c.operators, "addOperator", { name: "v", role: "viewer" });
    const v = t.clients(viewer.token);
    const e = await expectServiceError(exportTrainers(v.trainers, true));
    console.log(e.code, e.details);
    console.log((await exportTrainers(v.trainers, false)).length);
  } finally { await t.cleanup(); }
});
