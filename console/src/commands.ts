import { h, json, replace, time, uid } from './dom.js';
import { href } from './router.js';
import { statusBadge } from './feedback.js';
import type { Descriptor } from './types.js';

interface Row {
  d: Descriptor;
  row: HTMLTableRowElement;
  detail: HTMLTableRowElement;
  open: boolean;
}

export interface CommandTableOptions {
  caption: string;
  /** The application list spans endpoints: show which, linked to its page. */
  showEndpoint: boolean;
  /** Offer "Delete" on each row (the endpoint page). */
  onDelete?: (d: Descriptor) => void;
}

export const commandKey = (d: Pick<Descriptor, 'endpointId' | 'commandType' | 'commandId'>): string =>
  `${d.endpointId}/${d.commandType}/${d.commandId}`;

/** Newest first: createdAt, then commandId, descending (the order of GET /endpoints/commands). */
function newerFirst(a: Descriptor, b: Descriptor): number {
  return b.createdAt.localeCompare(a.createdAt) || b.commandId - a.commandId;
}

/**
 * A table of commands that updates in place: a row changes its cells when a
 * newer state arrives (an opened row stays open), new commands are inserted
 * in order. Each row opens to show its request and response payloads.
 */
export class CommandTable {
  readonly element: HTMLElement;
  private readonly body = h('tbody');
  private readonly empty = h('p', { class: 'muted' }, 'No commands.');
  private readonly rows = new Map<string, Row>();
  private readonly columns: number;

  constructor(private readonly options: CommandTableOptions) {
    const heads = [
      options.showEndpoint ? 'Endpoint' : null,
      'Command',
      'Status',
      'Result',
      'Delivery',
      'Created',
      'Updated',
      'Expires',
      'Actions',
    ].filter((x): x is string => x !== null);
    this.columns = heads.length;
    const table = h(
      'table',
      { class: 'commands' },
      h('caption', { class: 'visually-hidden' }, options.caption),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          heads.map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      this.body,
    );
    this.element = h('div', { class: 'table-wrap' }, table, this.empty);
  }

  get size(): number {
    return this.rows.size;
  }

  /**
   * Shows `d` unless a newer state of it is shown already: stream events and
   * list reads can arrive in either order, and a command's status changes
   * only once (PENDING → EXECUTED or EXPIRED).
   */
  upsert(d: Descriptor): void {
    const key = commandKey(d);
    const known = this.rows.get(key);
    if (known) {
      if (known.d.status !== 'PENDING' && d.status === 'PENDING') return;
      if (d.updatedAt < known.d.updatedAt) return;
      known.d = d;
      this.fill(known);
      return;
    }
    const row = this.makeRow(d);
    const after = [...this.rows.values()].find((r) => newerFirst(d, r.d) < 0);
    this.body.insertBefore(row.row, after?.row ?? null);
    this.body.insertBefore(row.detail, after?.row ?? null);
    this.rows.set(key, row);
    this.empty.hidden = true;
  }

  /** Replaces every row, keeping the given order (one page of a list). */
  setAll(list: Descriptor[]): void {
    this.rows.clear();
    replace(this.body);
    for (const d of list) {
      const row = this.makeRow(d);
      this.body.append(row.row, row.detail);
      this.rows.set(commandKey(d), row);
    }
    this.empty.hidden = list.length > 0;
  }

  remove(d: Pick<Descriptor, 'endpointId' | 'commandType' | 'commandId'>): void {
    const row = this.rows.get(commandKey(d));
    if (!row) return;
    row.row.remove();
    row.detail.remove();
    this.rows.delete(commandKey(d));
    this.empty.hidden = this.rows.size > 0;
  }

  private makeRow(d: Descriptor): Row {
    const detail = h('tr', { class: 'detail', id: uid('detail'), hidden: true });
    const row: Row = { d, row: h('tr', { 'data-command': commandKey(d) }), detail, open: false };
    this.fill(row);
    return row;
  }

  private fill(r: Row): void {
    const { d } = r;
    const name = `${d.commandType}/${d.commandId}`;
    const toggle = h(
      'button',
      { type: 'button', class: 'link', 'aria-expanded': String(r.open), 'aria-controls': r.detail.id, 'aria-label': `Details of ${name}` },
      'Details',
    );
    toggle.addEventListener('click', () => {
      r.open = !r.open;
      this.fill(r);
      (r.row.querySelector('button[aria-expanded]') as HTMLButtonElement | null)?.focus();
    });
    const del = this.options.onDelete
      ? h(
          'button',
          { type: 'button', class: 'link danger', 'aria-label': `Delete ${name}`, onClick: () => this.options.onDelete!(d) },
          'Delete',
        )
      : null;
    const delivery = [
      d.delivery.pushes > 0 ? `pushed ${d.delivery.pushes}×` : 'not pushed',
      d.delivery.fetchedAt ? ', fetched ' : ', not fetched',
      d.delivery.fetchedAt ? time(d.delivery.fetchedAt) : null,
    ];
    const result = d.statusCode === null ? h('span', { class: 'muted' }, '—') : `${d.statusCode} ${d.reasonPhrase ?? ''}`.trim();
    replace(
      r.row,
      this.options.showEndpoint
        ? h('td', null, h('a', { href: href(`endpoints/${encodeURIComponent(d.endpointId)}`) }, d.endpointId))
        : null,
      h('th', { scope: 'row' }, name),
      h('td', null, statusBadge(d.status)),
      h('td', null, result),
      h('td', null, delivery),
      h('td', null, time(d.createdAt)),
      h('td', null, time(d.updatedAt)),
      h('td', null, time(d.expiresAt)),
      h('td', { class: 'row-actions' }, toggle, del),
    );
    r.detail.hidden = !r.open;
    if (r.open) {
      replace(
        r.detail,
        h(
          'td',
          { colspan: this.columns },
          h(
            'div',
            { class: 'payloads' },
            h('section', null, h('h3', null, `Request payload of ${name}`), h('pre', null, json(d.requestPayload))),
            h(
              'section',
              null,
              h('h3', null, `Response payload of ${name}`),
              h(
                'pre',
                null,
                d.status === 'EXECUTED'
                  ? json(d.responsePayload)
                  : d.status === 'EXPIRED'
                    ? '(expired without a result)'
                    : '(no result yet)',
              ),
            ),
            h('p', { class: 'muted' }, `App version ${d.appVersionName ?? 'unknown'} · last pushed `, time(d.delivery.lastPushedAt)),
          ),
        ),
      );
    }
  }
}
