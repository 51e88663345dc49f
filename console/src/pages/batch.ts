import { call } from '../api.js';
import { field, h, uid } from '../dom.js';
import { Feedback } from '../feedback.js';
import { CommandFields } from '../forms.js';
import { navigate, type Page } from '../router.js';
import { ENDPOINT_ID } from '../types.js';

// CEX-API.md §2, Batch: 1-10,000 endpoint ids per task.
const MAX_IDS = 10_000;

/** Endpoint ids from pasted or uploaded text: one per line, or separated by commas, semicolons or spaces. */
export function parseEndpointIds(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\s,;]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

/**
 * /console/batch: one command per endpoint, for a list of endpoint ids
 * (pasted, or read from an uploaded text file) or for an endpoint filter
 * (resolved once by the registry). On 202 the task's page opens.
 */
export function batchPage(): Page {
  const fields = new CommandFields();
  const feedback = new Feedback();
  const submit = h('button', { type: 'submit' }, 'Start batch');

  const group = uid('by');
  const byList = h('input', { type: 'radio', name: group, value: 'list', checked: true, id: uid('by-list') });
  const byFilter = h('input', { type: 'radio', name: group, value: 'filter', id: uid('by-filter') });
  const ids = h('textarea', { name: 'endpointIds', rows: 6, spellcheck: 'false', placeholder: 'e-1\ne-2' });
  const upload = h('input', { type: 'file', accept: '.txt,.csv,text/plain,text/csv' });
  const uploadFeedback = new Feedback();
  const filterId = h('input', { name: 'filterId', autocomplete: 'off', spellcheck: 'false', disabled: true });
  const listPanel = h(
    'div',
    { class: 'panel' },
    field('Endpoint ids', ids, 'One per line, or separated by commas or spaces; 1–10,000'),
    field('Upload a file of endpoint ids', upload, 'A text or CSV file; its ids are added to the list above'),
    uploadFeedback.element,
  );
  const filterPanel = h(
    'div',
    { class: 'panel', hidden: true },
    field('Filter id', filterId, 'The endpoint filter; its endpoints are resolved once'),
  );

  function syncMode(): void {
    const list = byList.checked;
    listPanel.hidden = !list;
    filterPanel.hidden = list;
    ids.disabled = upload.disabled = !list;
    filterId.disabled = list;
  }
  byList.addEventListener('change', syncMode);
  byFilter.addEventListener('change', syncMode);

  upload.addEventListener('change', () => {
    const file = upload.files?.[0];
    if (!file) return;
    void file.text().then(
      (text) => {
        const found = parseEndpointIds(text);
        const merged = parseEndpointIds(`${ids.value}\n${found.join('\n')}`);
        ids.value = merged.join('\n');
        uploadFeedback.ok(`Read ${found.length} ids from ${file.name}; ${merged.length} in the list.`);
      },
      (err: unknown) => uploadFeedback.error(err),
    );
  });

  const form = h(
    'form',
    { class: 'batch', novalidate: true, 'aria-labelledby': 'batch-heading' },
    field('Command type', fields.type),
    field('Payload', fields.payload, 'JSON; every endpoint gets the same payload; empty = null'),
    field('TTL', fields.ttl, 'Milliseconds each command stays eligible; empty = the server default'),
    h(
      'fieldset',
      null,
      h('legend', null, 'Endpoints'),
      h(
        'div',
        { class: 'radios' },
        h('span', null, byList, h('label', { for: byList.id }, 'By endpoint list')),
        h('span', null, byFilter, h('label', { for: byFilter.id }, 'By filter')),
      ),
      listPanel,
      filterPanel,
    ),
    h('div', { class: 'actions' }, submit, feedback.element),
  );

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void start();
  });

  async function start(): Promise<void> {
    feedback.clear();
    let request: () => Promise<{ body: { taskId: string } }>;
    try {
      const commandType = encodeURIComponent(fields.commandType());
      const payload = fields.payloadText();
      const commandTtl = fields.commandTtl();
      if (byList.checked) {
        const list = parseEndpointIds(ids.value);
        if (list.length === 0 || list.length > MAX_IDS) throw new Error(`Give 1–${MAX_IDS} endpoint ids (${list.length} now).`);
        const bad = list.find((id) => !ENDPOINT_ID.test(id));
        if (bad) throw new Error(`"${bad}" is not an endpoint id (1–128 characters of A–Z a–z 0–9 . _ ~ -).`);
        const body = { payload: payload === '' ? null : (JSON.parse(payload) as unknown), endpointIds: list };
        request = () => call('POST', `/endpoints/commands/${commandType}/batch/by-endpoints`, { query: { commandTtl }, json: body });
      } else {
        const filter = filterId.value.trim();
        if (!filter) throw new Error('Give the filter id.');
        request = () =>
          call('POST', `/endpoints/commands/${commandType}/batch`, { query: { filterId: filter, commandTtl }, text: payload });
      }
    } catch (err) {
      feedback.error(err);
      return;
    }
    submit.disabled = true;
    feedback.ok('Creating the task…');
    try {
      const ans = await request();
      navigate(`tasks/${encodeURIComponent(ans.body.taskId)}`);
    } catch (err) {
      feedback.error(err);
    } finally {
      submit.disabled = false;
    }
  }

  const element = h('div', { class: 'page' }, h('h1', { id: 'batch-heading' }, 'Batch'), form);
  return { title: 'Batch', element };
}
