import { call } from '../api.js';
import { CommandTable } from '../commands.js';
import { field, h } from '../dom.js';
import { Feedback } from '../feedback.js';
import type { Page } from '../router.js';
import { STATUSES, type ApplicationPage } from '../types.js';

const SORTS: [string, string][] = [
  ['createdAt,desc', 'Newest first'],
  ['createdAt,asc', 'Oldest first'],
  ['updatedAt,desc', 'Recently updated first'],
  ['updatedAt,asc', 'Least recently updated first'],
  ['commandId,desc', 'Command id, high to low'],
  ['commandId,asc', 'Command id, low to high'],
];

/**
 * /console/applications/{applicationName}: the per-application list with
 * status and type filters, sort, totals, and keyset paging (each "Next page"
 * follows nextCursor; "Previous page" goes back to the cursor it came from).
 */
export function applicationPage(applicationName: string): Page {
  const table = new CommandTable({ caption: `Commands of application ${applicationName}`, showEndpoint: true });
  const feedback = new Feedback();
  const summary = h('p', { class: 'summary', role: 'status' }, 'Loading…');

  const status = h(
    'select',
    { name: 'status' },
    h('option', { value: '' }, 'Any'),
    STATUSES.map((s) => h('option', { value: s }, s)),
  );
  const types = h('input', { name: 'commandTypes', autocomplete: 'off', spellcheck: 'false', placeholder: 'reboot, blink' });
  const sort = h(
    'select',
    { name: 'sort' },
    SORTS.map(([value, label]) => h('option', { value }, label)),
  );
  const size = h(
    'select',
    { name: 'size' },
    ['20', '50', '100'].map((n) => h('option', { value: n }, n)),
  );
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter and sort' },
    field('Status', status),
    field('Command types', types, 'Comma-separated; empty = all'),
    field('Sort', sort),
    field('Page size', size),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Apply')),
  );

  const first = h('button', { type: 'button' }, 'First page');
  const previous = h('button', { type: 'button' }, 'Previous page');
  const next = h('button', { type: 'button' }, 'Next page');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' }, first, previous, next);

  // cursors[i] is the cursor that loads page i (undefined for the first page).
  let cursors: (string | undefined)[] = [undefined];
  let index = 0;
  let nextCursor: string | null = null;
  let totals = { totalElements: 0, totalPages: 0 };
  let loading = false;

  async function load(at: number): Promise<void> {
    if (loading) return;
    loading = true;
    feedback.clear();
    try {
      const ans = await call<ApplicationPage>('GET', `/endpoints/commands/${encodeURIComponent(applicationName)}`, {
        query: {
          size: size.value,
          sort: sort.value,
          status: status.value || undefined,
          commandTypes: types.value.replace(/\s+/g, '') || undefined,
          cursor: cursors[at],
        },
      });
      index = at;
      nextCursor = ans.body.nextCursor;
      if (nextCursor) cursors[at + 1] = nextCursor;
      // Keyset pages carry the totals counted for the first page.
      totals = { totalElements: ans.body.totalElements, totalPages: ans.body.totalPages };
      table.setAll(ans.body.content);
      summary.textContent = `${totals.totalElements} commands · page ${index + 1} of ${Math.max(totals.totalPages, 1)}`;
    } catch (err) {
      feedback.error(err);
    } finally {
      loading = false;
      first.disabled = previous.disabled = index === 0;
      next.disabled = !nextCursor;
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    cursors = [undefined];
    void load(0);
  });
  first.addEventListener('click', () => void load(0));
  previous.addEventListener('click', () => void load(Math.max(index - 1, 0)));
  next.addEventListener('click', () => void load(index + 1));
  first.disabled = previous.disabled = next.disabled = true;
  void load(0);

  const element = h(
    'div',
    { class: 'page' },
    h('h1', null, 'Application ', h('code', null, applicationName)),
    form,
    summary,
    feedback.element,
    table.element,
    pager,
  );
  return { title: `Application ${applicationName}`, element };
}
