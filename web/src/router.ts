/**
 * Screens are addresses (/find, /roster/T-1, …) in the page's own history: a screen can be
 * bookmarked, reloaded and shared by address, and the browser's back button works. The server
 * answers any such path with the console's page (node/console/server.ts).
 */
import { useEffect, useState } from "preact/hooks";

const listeners = new Set<() => void>();

export function currentPath(): string {
  return location.pathname;
}

export function navigate(path: string, replace = false): void {
  if (path === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  for (const listener of listeners) listener();
}

addEventListener("popstate", () => {
  for (const listener of listeners) listener();
});

/** The current path, re-rendering when it changes. */
export function usePath(): string {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    const listener = () => setPath(currentPath());
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, []);
  return path;
}

/** The query string's parameters of the current address. */
export function queryParams(): URLSearchParams {
  return new URLSearchParams(location.search);
}

/** An in-page link: a real <a href> (so that it opens in a new tab too) that navigates without reloading. */
export function onLinkClick(event: MouseEvent): void {
  const anchor = event.currentTarget as HTMLAnchorElement;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (anchor.origin !== location.origin) return;
  event.preventDefault();
  navigate(anchor.pathname + anchor.search);
}
