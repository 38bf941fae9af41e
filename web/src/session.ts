/**
 * Who is signed in: the operator's access token, kept in this tab's sessionStorage only (never in a
 * URL, a cookie or the page's address; gone when the tab closes), and what the node said of its
 * holder. The session ends when the person signs out or when the node answers UNAUTHENTICATED
 * (the token was revoked or is wrong): every call and the live stream report that here.
 */
const TOKEN_KEY = "concordat.token";

export interface Me {
  operatorId: string;
  operatorName: string;
  role: "viewer" | "operator" | "admin";
  hubId: string;
  hubName: string;
  /** hub | secretariat */
  hubRole: string;
}

export type EndReason = "signed-out" | "revoked";

let me: Me | undefined;
let ended: EndReason | undefined;
const listeners = new Set<() => void>();

function changed(): void {
  for (const listener of listeners) listener();
}

export const session = {
  token(): string | undefined {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  },
  me(): Me | undefined {
    return me;
  },
  /** Why the last session ended, until the next sign-in. */
  ended(): EndReason | undefined {
    return ended;
  },
  begin(token: string, who: Me): void {
    sessionStorage.setItem(TOKEN_KEY, token);
    me = who;
    ended = undefined;
    changed();
  },
  /** Keeps the token for a reload of the tab; `me` is asked again. */
  restore(who: Me): void {
    me = who;
    changed();
  },
  end(reason: EndReason): void {
    if (me === undefined && sessionStorage.getItem(TOKEN_KEY) === null) return;
    sessionStorage.removeItem(TOKEN_KEY);
    me = undefined;
    ended = reason;
    changed();
  },
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

const RANK = { viewer: 0, operator: 1, admin: 2 } as const;

/** Whether the signed-in operator's role is at least `role` (the API decides; this only hides what would be refused). */
export function may(role: keyof typeof RANK): boolean {
  return me !== undefined && RANK[me.role] >= RANK[role];
}
