import { field, h } from '../dom.js';
import { Feedback } from '../feedback.js';
import { navigate, type Page } from '../router.js';
import { ENDPOINT_ID } from '../types.js';

/** One "go to" form: a labelled input and a button that opens `path(value)`. */
function goTo(title: string, label: string, button: string, hint: string, valid: RegExp, path: (value: string) => string): HTMLElement {
  const input = h('input', { autocomplete: 'off', spellcheck: 'false', required: true });
  const feedback = new Feedback();
  const form = h(
    'form',
    { class: 'goto', novalidate: true, 'aria-label': title },
    field(label, input, hint),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, button), feedback.element),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (!valid.test(value)) {
      input.setAttribute('aria-invalid', 'true');
      feedback.error(new Error(`${label}: ${hint}.`));
      return;
    }
    navigate(path(value));
  });
  return form;
}

/** /console/: pick an endpoint, an application or a task; start a batch. */
export function startPage(): Page {
  const element = h(
    'div',
    { class: 'page' },
    h('h1', null, 'Operator console'),
    h('p', null, 'Send commands to endpoints and follow their results live, browse an application’s history, and run batches.'),
    h(
      'div',
      { class: 'cards' },
      goTo(
        'Go to an endpoint',
        'Endpoint id',
        'Open endpoint',
        '1–128 characters of A–Z a–z 0–9 . _ ~ -',
        ENDPOINT_ID,
        (v) => `endpoints/${encodeURIComponent(v)}`,
      ),
      goTo(
        'Go to an application',
        'Application name',
        'Open application',
        '1–256 characters of A–Z a–z 0–9 . _ ~ -',
        /^[A-Za-z0-9._~-]{1,256}$/,
        (v) => `applications/${encodeURIComponent(v)}`,
      ),
      goTo(
        'Go to a task',
        'Task id',
        'Open task',
        'the id a batch answered with (a UUID)',
        /^[0-9a-fA-F-]{36}$/,
        (v) => `tasks/${encodeURIComponent(v)}`,
      ),
    ),
    h('p', null, h('a', { href: 'batch' }, 'Start a batch'), ': one command for many endpoints, by list or by filter.'),
  );
  return { title: 'Start', element };
}
