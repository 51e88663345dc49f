/** A child of h(): nodes, text, or nothing; arrays are flattened. */
export type Child = Node | string | number | null | undefined | false | Child[];

type Handler = (event: Event) => void;
export type Props = Record<string, string | number | boolean | null | undefined | Handler>;

/**
 * Creates an element: `on…` props become listeners, `true` a bare attribute,
 * `false`/null/undefined nothing, anything else an attribute (its text).
 * `value` and `checked` are set as properties, as the user would see them.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === 'value' || key === 'checked') (el as unknown as Record<string, unknown>)[key] = value;
    else if (value === true) el.setAttribute(key, '');
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else if (child !== null && child !== undefined && child !== false) parent.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces every child of `parent`. */
export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, children);
}

let ids = 0;
/** A document-unique id, for label/aria-describedby pairs. */
export function uid(stem: string): string {
  return `${stem}-${++ids}`;
}

/** A labelled form field: `<label>` + control + optional hint, wired by ids. */
export function field(label: string, control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, hint?: string): HTMLElement {
  control.id ||= uid('f');
  const hintEl = hint ? h('small', { id: uid('hint'), class: 'hint' }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

/**
 * An ISO timestamp in a <time> element, UTC: only the time of day when it is
 * today, else date and time (the full instant is in its datetime and title);
 * a dash when absent.
 */
export function time(iso: string | null | undefined): Child {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const full = iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const today = new Date().toISOString().slice(0, 10);
  return h('time', { datetime: iso, title: full }, iso.startsWith(today) ? full.slice(11) : full);
}

/** Any JSON value, pretty-printed. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? 'null';
}
