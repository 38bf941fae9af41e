import type { FunctionComponent } from "preact";
import { useEffect, useState } from "preact/hooks";
import {
  availableLanguages,
  currentLanguage,
  formatNumber,
  languageName,
  onLanguageChange,
  setLanguage,
  t,
} from "./i18n.js";
import { api } from "./api.js";
import { startLive, useLive, useLiveState } from "./live.js";
import { navigate, onLinkClick, usePath } from "./router.js";
import { CurriculumScreen } from "./screens/curriculum.js";
import { FederationScreen } from "./screens/federation.js";
import { FindScreen } from "./screens/find.js";
import { LoginScreen } from "./screens/login.js";
import { PlansScreen } from "./screens/plans.js";
import { ProposalsScreen } from "./screens/proposals.js";
import { ReportsScreen } from "./screens/reports.js";
import { RequestsScreen } from "./screens/requests.js";
import { RosterScreen } from "./screens/roster.js";
import { type Me, session } from "./session.js";
import { Link, useLoad } from "./ui/kit.js";

export interface ScreenProps {
  /** The address below the screen's own ("/roster/T-1" → "T-1"), for its sub-pages. */
  rest: string;
  me: Me;
}

interface Route {
  path: string;
  /** Catalogue key of its name in the navigation. */
  name: string;
  component: FunctionComponent<ScreenProps>;
}

/** The screens, in the navigation's order. Every role sees every screen; what a role may not do is not offered. */
export const ROUTES: readonly Route[] = [
  { path: "/find", name: "nav.find", component: FindScreen },
  { path: "/requests", name: "nav.requests", component: RequestsScreen },
  { path: "/roster", name: "nav.roster", component: RosterScreen },
  { path: "/curriculum", name: "nav.curriculum", component: CurriculumScreen },
  { path: "/proposals", name: "nav.proposals", component: ProposalsScreen },
  { path: "/federation", name: "nav.federation", component: FederationScreen },
  { path: "/reports", name: "nav.reports", component: ReportsScreen },
  { path: "/plans", name: "nav.plans", component: PlansScreen },
];

function useRerenderOn(subscribe: (listener: () => void) => () => void): void {
  const [, setTick] = useState(0);
  useEffect(() => subscribe(() => setTick((n) => n + 1)), [subscribe]);
}

function LanguagePicker() {
  const languages = availableLanguages();
  return (
    <div class="language">
      <label for="language">{t("app.language")}</label>
      <select
        id="language"
        value={currentLanguage()}
        onChange={(e) => void setLanguage((e.currentTarget as HTMLSelectElement).value, true)}
      >
        {languages.map((lang) => (
          <option key={lang} value={lang} lang={lang}>
            {new Intl.DisplayNames([lang], { type: "language" }).of(lang) ?? languageName(lang)}
          </option>
        ))}
      </select>
    </div>
  );
}

function LiveIndicator() {
  const state = useLiveState();
  return (
    <span class={`live ${state}`} role="status" aria-live="polite">
      {t(`app.live.${state}`)}
    </span>
  );
}

/**
 * The link to "Requests", with how many requests for this hub's trainers wait for an operator's
 * decision (NodeService.GetStatus) beside its name, read again when a booking changes or the
 * screen changes. A screen reader reads "Requests, 2 awaiting decision": the name still starts
 * with the screen's, and the visible count is its own element.
 */
function RequestsLink(props: { href: string; current: boolean; path: string }) {
  const live = useLive("booking");
  const status = useLoad((signal) => api.node.getStatus({}, { signal }), [props.path], live);
  const count = status.data?.bookingsAwaitingDecision ?? 0;
  const name = t("nav.requests");
  if (count === 0)
    return (
      <Link href={props.href} current={props.current}>
        {name}
      </Link>
    );
  return (
    <a
      href={props.href}
      onClick={onLinkClick}
      aria-current={props.current ? "page" : undefined}
      aria-label={`${name}${t("requests.navAwaiting", { count })}`}
    >
      {name} <span class="nav-count">{formatNumber(count)}</span>
    </a>
  );
}

function Shell(props: { me: Me }) {
  const path = usePath();
  const route = ROUTES.find((r) => path === r.path || path.startsWith(`${r.path}/`));
  useEffect(() => {
    if (!route) navigate("/find", true);
  }, [route]);
  useEffect(() => startLive(), []);
  const Component = route?.component;
  return (
    <>
      <a class="skip" href="#main">
        {t("app.skip")}
      </a>
      <header class="top">
        <p class="brand">
          <span class="hub">{props.me.hubName || props.me.hubId}</span>
          <span class="who">
            {t("app.signedInAs", { name: props.me.operatorName, role: t(`app.role.${props.me.role}`) })}
          </span>
        </p>
        <LiveIndicator />
        <LanguagePicker />
        <button type="button" class="secondary" onClick={() => session.end("signed-out")}>
          {t("app.signOut")}
        </button>
      </header>
      <nav aria-label={t("nav.label")} class="main-nav">
        <ul>
          {ROUTES.map((r) => (
            <li key={r.path}>
              {r.path === "/requests" ? (
                <RequestsLink href={r.path} current={r === route} path={path} />
              ) : (
                <Link href={r.path} current={r === route}>
                  {t(r.name)}
                </Link>
              )}
            </li>
          ))}
        </ul>
      </nav>
      <main id="main">{Component ? <Component rest={path.slice(route.path.length + 1)} me={props.me} /> : null}</main>
    </>
  );
}

export function App() {
  useRerenderOn(session.subscribe);
  useRerenderOn(onLanguageChange);
  const me = session.me();
  if (!me) return <LoginScreen ended={session.ended()} />;
  return <Shell me={me} />;
}
