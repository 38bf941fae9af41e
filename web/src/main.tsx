import { render } from "preact";
import { clientsWithToken, Code, isCode } from "./api.js";
import { App } from "./app.js";
import { preferredLanguage, setLanguage } from "./i18n.js";
import { meFrom } from "./screens/login.js";
import { session } from "./session.js";
import "./styles.css";

async function boot(): Promise<void> {
  await setLanguage(preferredLanguage()).catch(() => setLanguage("en"));
  const token = session.token();
  if (token !== undefined) {
    // A reload of a signed-in tab: ask the node again who the token's holder is.
    try {
      session.restore(meFrom(await clientsWithToken(token).node.getStatus({})));
    } catch (error) {
      session.end(isCode(error, Code.Unauthenticated) ? "revoked" : "signed-out");
    }
  }
  const root = document.getElementById("app");
  if (root) {
    root.textContent = "";
    render(<App />, root);
  }
}

void boot();
