import * as A from "@automerge/automerge";
import { describe, expect, it } from "vitest";
import { isConcordatError } from "../../node/errors.js";
import { type CharterState, encodeMember, planAdmit, readCharter } from "../../node/federation/charter.js";
import { directoryIdOf, hubId, peerId } from "../../node/ids.js";

const PEER = peerId("12D3KooWGzh8Qj3DYXUTMYKpwvk3WGyCtpYDXDw1Nt9Ajm5dWEMG");
const NOW = "2027-01-01T00:00:00.000Z";

/** A charter document with one member record, as JSON with `directoryId` as given. */
function charterWith(directoryId: string): Record<string, unknown> {
  const member = JSON.parse(
    encodeMember({
      hub: hubId("hub-a"),
      name: "A",
      region: "",
      role: "hub",
      directoryId: directoryIdOf(PEER),
      addresses: [],
      keys: [{ peerId: PEER, from: NOW }],
      admittedAt: NOW,
    }).val,
  ) as Record<string, unknown>;
  return {
    federationId: "f",
    anchor: PEER,
    members: { "hub-a": new A.ImmutableString(JSON.stringify({ ...member, directoryId })) },
  };
}

describe("charter ids", () => {
  it("reads a member record whose ids are well formed, branded", () => {
    const { state, problems } = readCharter(charterWith(directoryIdOf(PEER)));
    expect(problems).toEqual([]);
    expect(state.members.map((m) => [m.hub, m.directoryId])).toEqual([["hub-a", directoryIdOf(PEER)]]);
  });

  it("leaves out a member record whose directory id is not a document id, and names it", () => {
    const { state, problems } = readCharter(charterWith("dir-hub-a"));
    expect(state.members).toEqual([]);
    expect(problems).toEqual([expect.stringMatching(/^member 'hub-a': directoryId must be a document id/)]);
  });

  it("refuses to admit a hub with a directory id that is base58 but not a document id (its checksum fails)", () => {
    const empty: CharterState = { federationId: "f", anchor: PEER, members: [] };
    const good = directoryIdOf(PEER);
    const forged = `${good.slice(0, -1)}${good.endsWith("1") ? "2" : "1"}`;
    const admit = (directoryId: string) =>
      planAdmit(empty, { hub: "hub-b", peerId: PEER, directoryId }, directoryIdOf, NOW);
    expect(admit(good).directoryId).toBe(good);
    let error: unknown;
    try {
      admit(forged);
    } catch (e) {
      error = e;
    }
    expect(isConcordatError(error) && error.violations).toEqual([
      {
        field: "directory_id",
        description: `'${forged}' is not a document id (base58check, as automerge-repo makes them)`,
      },
    ]);
  });
});
