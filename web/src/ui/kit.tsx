/**
 * The console's building blocks, each accessible by construction: a field always has its label and
 * shows the API's error for it (aria-invalid, aria-describedby); a failure is an alert; a busy
 * region says so; a screen's heading takes focus when the screen opens, so a screen reader hears
 * where it is. Styles in ../styles.css use logical properties only, so right-to-left needs nothing.
 */
import type { ComponentChildren, InputHTMLAttributes } from "preact";
import { useCallback, useEffect, useId, useRef, useState } from "preact/hooks";
import { errorText } from "../api.js";
import { t } from "../i18n.js";
import { onLinkClick } from "../router.js";

/** A screen: its heading (focused on arrival, named in the document title) and its content. */
export function Screen(props: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.title} · Concordat`;
    heading.current?.focus({ preventScroll: true });
  }, [props.title]);
  return (
    <section class="screen" aria-labelledby="screen-title">
      <div class="screen-head">
        <h1 id="screen-title" tabIndex={-1} ref={heading}>
          {props.title}
        </h1>
        {props.actions ? <div class="screen-actions">{props.actions}</div> : null}
      </div>
      {props.children}
    </section>
  );
}

export function Link(props: { href: string; children: ComponentChildren; class?: string; current?: boolean }) {
  return (
    <a href={props.href} class={props.class} onClick={onLinkClick} aria-current={props.current ? "page" : undefined}>
      {props.children}
    </a>
  );
}

/** A failure to show: the API's message, announced to screen readers at once. */
export function ErrorMessage(props: { error: unknown }) {
  if (props.error === undefined || props.error === null) return null;
  return (
    <p class="error" role="alert">
      {errorText(props.error)}
    </p>
  );
}

export function Notice(props: { children: ComponentChildren; tone?: "ok" | "warn" | "info" }) {
  return (
    <p class={`notice ${props.tone ?? "info"}`} role="status">
      {props.children}
    </p>
  );
}

export function Busy(props: { label?: string }) {
  return (
    <p class="busy" role="status" aria-live="polite">
      {props.label ?? t("common.loading")}
    </p>
  );
}

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, "label" | "value" | "onInput">;

/** A labelled input whose error (from the API's field violations) is shown under it and tied to it. */
export function Field(
  props: InputProps & {
    label: string;
    value: string;
    onValue: (value: string) => void;
    error?: string | undefined;
    hint?: string;
  },
) {
  const id = useId();
  const { label, value, onValue, error, hint, ...rest } = props;
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div class={`field${error ? " invalid" : ""}`}>
      <label for={id}>{label}</label>
      <input
        {...rest}
        id={id}
        value={value}
        onInput={(e) => onValue((e.currentTarget as HTMLInputElement).value)}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={described || undefined}
      />
      {hint ? (
        <span class="hint" id={`${id}-hint`}>
          {hint}
        </span>
      ) : null}
      {error ? (
        <span class="field-error" id={`${id}-error`}>
          {error}
        </span>
      ) : null}
    </div>
  );
}

/** A labelled multi-line field: its hint and the API's error shown under it and tied to it, as Field does. */
export function TextArea(props: {
  label: string;
  value: string;
  onValue: (value: string) => void;
  error?: string | undefined;
  hint?: string;
  required?: boolean;
  maxLength?: number;
  rows?: number;
  inputRef?: (element: HTMLTextAreaElement | null) => void;
}) {
  const id = useId();
  const described = [props.hint ? `${id}-hint` : "", props.error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div class={`field${props.error ? " invalid" : ""}`}>
      <label for={id}>{props.label}</label>
      <textarea
        id={id}
        rows={props.rows ?? 3}
        ref={props.inputRef}
        value={props.value}
        maxLength={props.maxLength}
        aria-required={props.required ? "true" : undefined}
        aria-invalid={props.error ? "true" : undefined}
        aria-describedby={described || undefined}
        onInput={(e) => props.onValue((e.currentTarget as HTMLTextAreaElement).value)}
      />
      {props.hint ? (
        <span class="hint" id={`${id}-hint`}>
          {props.hint}
        </span>
      ) : null}
      {props.error ? (
        <span class="field-error" id={`${id}-error`}>
          {props.error}
        </span>
      ) : null}
    </div>
  );
}

/** A labelled select. */
export function Select(props: {
  label: string;
  value: string;
  onValue: (value: string) => void;
  options: ReadonlyArray<{ value: string; label: string }>;
  error?: string | undefined;
  name?: string;
}) {
  const id = useId();
  return (
    <div class={`field${props.error ? " invalid" : ""}`}>
      <label for={id}>{props.label}</label>
      <select
        id={id}
        name={props.name}
        value={props.value}
        onChange={(e) => props.onValue((e.currentTarget as HTMLSelectElement).value)}
        aria-invalid={props.error ? "true" : undefined}
        aria-describedby={props.error ? `${id}-error` : undefined}
      >
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {props.error ? (
        <span class="field-error" id={`${id}-error`}>
          {props.error}
        </span>
      ) : null}
    </div>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Data read from the node for a screen. When a dependency changes (another trainer, other search
 * options) the read in flight is dropped and the data read again. When `refresh` changes (a live
 * event's counter, useLive) the data is read again too, but after the read in flight, never instead
 * of it: a node that announces changes faster than a read takes still shows each answer.
 */
export function useLoad<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  refresh = 0,
): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  const latestLoad = useRef(load);
  latestLoad.current = load;
  const flight = useRef<{ controller: AbortController; again: boolean } | undefined>(undefined);
  const start = useRef(() => {
    const current = { controller: new AbortController(), again: false };
    flight.current = current;
    const { signal } = current.controller;
    setLoading(true);
    latestLoad
      .current(signal)
      .then(
        (value) => {
          if (signal.aborted) return;
          setData(value);
          setError(undefined);
          setLoading(false);
        },
        (failure: unknown) => {
          if (signal.aborted) return;
          setError(failure);
          setLoading(false);
        },
      )
      .finally(() => {
        if (flight.current !== current) return;
        flight.current = undefined;
        if (current.again) start.current();
      });
  });
  useEffect(() => {
    start.current();
    return () => {
      flight.current?.controller.abort();
      flight.current = undefined;
    };
  }, [...deps, tick]);
  const refreshed = useRef(refresh);
  useEffect(() => {
    if (refreshed.current === refresh) return;
    refreshed.current = refresh;
    if (flight.current) flight.current.again = true;
    else start.current();
  }, [refresh]);
  return { data, error, loading, reload };
}

/** Saves `content` as a file named `name` (a download the browser makes from memory). */
export function download(name: string, content: BlobPart | BlobPart[], type: string): void {
  const blob = new Blob(Array.isArray(content) ? content : [content], { type });
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = name;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
