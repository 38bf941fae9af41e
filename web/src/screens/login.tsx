import { useState } from "preact/hooks";
import type { GetStatusResponse } from "../../generated/concordat/v1/node_pb.js";
import { clientsWithToken, Code, errorText, isCode } from "../api.js";
import { t } from "../i18n.js";
import { type EndReason, type Me, session } from "../session.js";
import { Field } from "../ui/kit.js";

/** Who the node says the token's holder is. */
export function meFrom(status: GetStatusResponse): Me {
  const caller = status.caller;
  const role = caller?.role === "admin" || caller?.role === "operator" ? caller.role : "viewer";
  return {
    operatorId: caller?.id ?? "",
    operatorName: caller?.name ?? "",
    role,
    hubId: status.hubId,
    hubName: status.hubName,
    hubRole: status.role,
  };
}

/**
 * Signing in: the person pastes the access token an admin gave them (`concordat operators add`).
 * The node checks it before the console keeps it; it is never put in the address or sent anywhere
 * but in the Authorization header of calls to this node.
 */
export function LoginScreen(props: { ended: EndReason | undefined }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const value = token.trim();
    if (value === "") {
      setError(t("login.empty"));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const status = await clientsWithToken(value).node.getStatus({});
      session.begin(value, meFrom(status));
    } catch (failure) {
      setError(isCode(failure, Code.Unauthenticated) ? t("login.refused") : errorText(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="login">
      <h1>{t("login.title")}</h1>
      <p>{t("login.intro")}</p>
      {props.ended === "revoked" ? (
        <p class="notice warn" role="alert">
          {t("login.revoked")}
        </p>
      ) : null}
      <form onSubmit={submit} autocomplete="off">
        <Field
          label={t("login.token")}
          type="password"
          name="token"
          autocomplete="off"
          spellcheck={false}
          value={token}
          onValue={setToken}
          error={error}
          hint={t("login.hint")}
        />
        <button type="submit" disabled={busy}>
          {busy ? t("login.checking") : t("login.submit")}
        </button>
      </form>
    </main>
  );
}
