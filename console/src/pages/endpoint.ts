import { call, apiUrl } from '../api.js';
import { CommandTable } from '../commands.js';
import { field, h } from '../dom.js';
import { Feedback } from '../feedback.js';
import { CommandFields } from '../forms.js';
import type { Page } from '../router.js';
import { followStream, type StreamState } from '../sse.js';
import type { Descriptor } from '../types.js';

const STATE_TEXT: Record<StreamState, string> = {
  connecting: 'Connecting to live updates…',
  live: 'Live: new commands and status changes appear as they happen.',
  reconnecting: 'Connection lost; reconnecting (nothing is missed)…',
  stopped: 'Live updates stopped.',
};

/**
 * /console/endpoints/{endpointId}: invoke a command, and the endpoint's
 * commands newest first, kept current by its event stream
 * (GET …/endpoints/{id}/commands/events, resumed after a drop).
 */
export function endpointPage(endpointId: string): Page {
  const enc = encodeURIComponent(endpointId);
  const table = new CommandTable({ caption: `Commands of endpoint ${endpointId}`, showEndpoint: false, onDelete: (d) => confirmDelete(d) });
  const live = h('p', { class: 'live', role: 'status' }, STATE_TEXT.connecting);
  const listFeedback = new Feedback();

  // ---- invoke ----
  const fields = new CommandFields();
  const wait = h('input', { name: 'awaitTimeout', type: 'number', min: 0, max: 60, step: 1, value: '0', inputmode: 'numeric' });
  const invokeFeedback = new Feedback();
  const invokeButton = h('button', { type: 'submit' }, 'Invoke');
  const form = h(
    'form',
    { class: 'invoke', 'aria-labelledby': 'invoke-heading', novalidate: true },
    h(
      'div',
      { class: 'row' },
      field('Command type', fields.type),
      field('Wait (seconds)', wait, '0–60; 0 = do not wait'),
      field('TTL', fields.ttl, 'Milliseconds; empty = server default'),
    ),
    field('Payload', fields.payload, 'JSON (an object, array, string, number, true, false or null); empty = null'),
    h('div', { class: 'actions' }, invokeButton, invokeFeedback.element),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void invoke();
  });

  async function invoke(): Promise<void> {
    invokeFeedback.clear();
    let commandType: string, payload: string, ttl: number | undefined, awaitTimeout: number;
    try {
      commandType = fields.commandType();
      payload = fields.payloadText();
      ttl = fields.commandTtl();
      awaitTimeout = Number(wait.value || '0');
      if (!Number.isInteger(awaitTimeout) || awaitTimeout < 0 || awaitTimeout > 60)
        throw new Error('Wait (seconds) must be a whole number, 0–60.');
    } catch (err) {
      invokeFeedback.error(err);
      return;
    }
    invokeButton.disabled = true;
    invokeFeedback.ok(awaitTimeout > 0 ? `Invoking; waiting up to ${awaitTimeout} s for the result…` : 'Invoking…');
    try {
      const ans = await call<unknown>('POST', `/endpoints/${enc}/commands/${encodeURIComponent(commandType)}`, {
        query: { awaitTimeout, commandTtl: ttl },
        text: payload,
      });
      if (ans.status === 202) {
        const d = ans.body as Descriptor;
        table.upsert(d);
        invokeFeedback.ok(`${commandType}/${d.commandId} accepted: ${d.status}.`);
      } else {
        const id = ans.headers.get('x-command-id');
        const code = ans.headers.get('x-command-status-code');
        const raw = ans.headers.get('x-command-reason-phrase') ?? '';
        let reason = raw;
        try {
          reason = decodeURIComponent(raw);
        } catch {
          // Shown as sent: CEX percent-encodes it, a proxy might not have.
        }
        invokeFeedback.ok(`${commandType}/${id} executed: ${code} ${reason}`.trim() + '.');
      }
    } catch (err) {
      invokeFeedback.error(err);
    } finally {
      invokeButton.disabled = false;
    }
  }

  // ---- delete, with confirmation ----
  const dialogText = h('p');
  const dialogFeedback = new Feedback();
  const confirmButton = h('button', { type: 'button', class: 'danger' }, 'Delete');
  const cancelButton = h('button', { type: 'button' }, 'Cancel');
  const dialog = h(
    'dialog',
    { 'aria-labelledby': 'delete-heading' },
    h('h2', { id: 'delete-heading' }, 'Delete command'),
    dialogText,
    h('div', { class: 'actions' }, confirmButton, cancelButton, dialogFeedback.element),
  );
  let deleting: Descriptor | null = null;
  cancelButton.addEventListener('click', () => dialog.close());
  confirmButton.addEventListener('click', () => void doDelete());

  function confirmDelete(d: Descriptor): void {
    deleting = d;
    dialogFeedback.clear();
    dialogText.textContent = `Delete ${d.commandType}/${d.commandId} of ${endpointId}? It disappears from every list and the endpoint will not get it. This cannot be undone.`;
    dialog.showModal();
    cancelButton.focus();
  }

  async function doDelete(): Promise<void> {
    const d = deleting;
    if (!d) return;
    confirmButton.disabled = true;
    try {
      await call('DELETE', `/endpoints/${enc}/commands/${encodeURIComponent(d.commandType)}/${d.commandId}`);
      table.remove(d);
      dialog.close();
      listFeedback.ok(`Deleted ${d.commandType}/${d.commandId}.`);
    } catch (err) {
      dialogFeedback.error(err);
    } finally {
      confirmButton.disabled = false;
    }
  }

  // ---- the list and its live stream ----
  async function loadList(): Promise<void> {
    try {
      const ans = await call<{ endpointId: string; commands: Descriptor[] }[]>('GET', '/endpoints/commands', {
        query: { endpointId, limit: 100 },
      });
      for (const d of ans.body[0]?.commands ?? []) table.upsert(d);
    } catch (err) {
      listFeedback.error(err);
    }
  }

  // The list is read once the stream is open: the stream's LISTEN is then in
  // force, so whatever changes after the read arrives as an event.
  const stream = followStream(apiUrl(`/endpoints/${enc}/commands/events`), {
    onOpen: (resumed) => {
      if (!resumed) void loadList();
    },
    onEvent: (event, data) => {
      if (event === 'status') table.upsert(JSON.parse(data) as Descriptor);
    },
    onState: (state, problem) => {
      live.textContent = STATE_TEXT[state];
      live.dataset.state = state;
      if (problem) listFeedback.error(problem);
    },
  });

  const element = h(
    'div',
    { class: 'page' },
    h('h1', null, 'Endpoint ', h('code', null, endpointId)),
    h('section', { 'aria-labelledby': 'invoke-heading' }, h('h2', { id: 'invoke-heading' }, 'Invoke a command'), form),
    h(
      'section',
      { 'aria-labelledby': 'commands-heading' },
      h('h2', { id: 'commands-heading' }, 'Commands'),
      live,
      listFeedback.element,
      table.element,
    ),
    dialog,
  );
  return { title: `Endpoint ${endpointId}`, element, dispose: () => stream.close() };
}
