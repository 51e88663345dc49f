/** What a route renders; dispose() stops its streams and timers when the user leaves. */
export interface Page {
  title: string;
  element: HTMLElement;
  dispose?(): void;
}

export type Render = (segments: string[], query: URLSearchParams) => Page;

let render: Render | undefined;
let current: Page | undefined;
let firstRender = true;

/** The console's root path, from the <base href> the server puts in index.html (`/console/`, `/cex/console/`). */
function basePath(): string {
  return new URL(document.baseURI).pathname;
}

/** A console path (`endpoints/e-1`) as an href; segments are percent-encoded by the caller. */
export function href(path: string): string {
  return new URL(path, document.baseURI).pathname;
}

/** Shows another page without a reload. */
export function navigate(path: string): void {
  history.pushState(null, '', href(path));
  show();
}

/** Renders the page of the current address again (after sign-in or sign-out). */
export function show(): void {
  if (!render) return;
  const base = basePath();
  const rest = location.pathname.startsWith(base) ? location.pathname.slice(base.length) : '';
  const segments = rest.split('/').filter(Boolean).map(safeDecode);
  current?.dispose?.();
  current = render(segments, new URLSearchParams(location.search));
  const main = document.getElementById('main')!;
  main.replaceChildren(current.element);
  document.title = `${current.title} — CEX console`;
  // After a navigation, focus goes to the page's content, as a page load would put a screen reader there.
  if (!firstRender) main.focus();
  firstRender = false;
}

/** Starts routing: links below the console's root and back/forward change pages in place. */
export function startRouter(renderer: Render): void {
  render = renderer;
  document.addEventListener('click', (event) => {
    const a = (event.target as Element | null)?.closest?.('a');
    if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (a.target || a.hasAttribute('download')) return;
    // In-page links (the skip link): with <base href> set, "#main" would
    // resolve to the console's root, so move focus instead of navigating.
    const raw = a.getAttribute('href') ?? '';
    if (raw.startsWith('#')) {
      event.preventDefault();
      document.getElementById(raw.slice(1))?.focus();
      return;
    }
    const url = new URL(a.href);
    if (url.origin !== location.origin || !url.pathname.startsWith(basePath())) return;
    event.preventDefault();
    history.pushState(null, '', url.pathname + url.search);
    show();
  });
  window.addEventListener('popstate', show);
  show();
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
