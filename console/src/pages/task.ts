import { ApiProblem, call } from '../api.js';
import { h, replace, time } from '../dom.js';
import { Feedback } from '../feedback.js';
import { href, type Page } from '../router.js';
import type { Task, TaskCommand } from '../types.js';

// The task has no event stream: while commands are pending it is read again this often.
const REFRESH_MS = 1_000;
// Longer lists are cut here; the task's own route has them all.
const LIST_LIMIT = 200;

/** /console/tasks/{taskId}: a batch task's counts per status and progress, live while commands are pending. */
export function taskPage(taskId: string): Page {
  const feedback = new Feedback();
  const facts = h('dl', { class: 'facts' });
  const progress = h('progress', { id: 'task-progress', max: 1, value: 0 });
  const progressText = h('span', { class: 'progress-text' });
  const live = h('p', { class: 'live', role: 'status' }, 'Loading…');
  const lists = h('div', { class: 'lists' });
  let timer: number | undefined;
  let stopped = false;

  function commandList(title: string, items: TaskCommand[], count: number, type: string): HTMLElement {
    return h(
      'details',
      null,
      h('summary', null, `${title} (${count})`),
      h(
        'ul',
        null,
        items
          .slice(0, LIST_LIMIT)
          .map((c) =>
            h('li', null, h('a', { href: href(`endpoints/${encodeURIComponent(c.endpointId)}`) }, c.endpointId), ` ${type}/${c.commandId}`),
          ),
      ),
      count > LIST_LIMIT ? h('p', { class: 'muted' }, `and ${count - LIST_LIMIT} more`) : null,
    );
  }

  function show(t: Task): void {
    const total = t.pendingCount + t.executedCount + t.expiredCount;
    const done = t.executedCount + t.expiredCount;
    replace(
      facts,
      h('dt', null, 'Command type'),
      h('dd', null, t.commandType),
      h('dt', null, 'Endpoints'),
      h('dd', null, t.filterId ? `filter ${t.filterId}` : 'listed'),
      h('dt', null, 'Created'),
      h('dd', null, time(t.createdAt)),
      h('dt', null, 'Pending'),
      h('dd', { 'data-count': 'pending' }, String(t.pendingCount)),
      h('dt', null, 'Executed'),
      h('dd', { 'data-count': 'executed' }, String(t.executedCount)),
      h('dt', null, 'Expired'),
      h('dd', { 'data-count': 'expired' }, String(t.expiredCount)),
    );
    progress.max = Math.max(total, 1);
    progress.value = done;
    progressText.textContent = `${done} of ${total} done`;
    live.textContent = t.pendingCount > 0 ? `Live: ${t.pendingCount} pending, refreshed every second.` : 'Finished: no command is pending.';
    replace(
      lists,
      commandList('Pending', t.pending, t.pendingCount, t.commandType),
      commandList('Executed', t.executed, t.executedCount, t.commandType),
      commandList('Expired', t.expired, t.expiredCount, t.commandType),
    );
  }

  async function refresh(): Promise<void> {
    try {
      const ans = await call<Task>('GET', `/endpoints/commands/batch/tasks/${encodeURIComponent(taskId)}`);
      feedback.clear();
      show(ans.body);
      if (ans.body.pendingCount === 0) return;
    } catch (err) {
      feedback.error(err);
      // A network failure or a 5xx may pass; anything else will not.
      const status = err instanceof ApiProblem ? err.status : 0;
      if (status !== 0 && status < 500) {
        live.textContent = 'Not refreshing.';
        return;
      }
    }
    if (!stopped) timer = window.setTimeout(() => void refresh(), REFRESH_MS);
  }
  void refresh();

  const element = h(
    'div',
    { class: 'page' },
    h('h1', null, 'Task ', h('code', null, taskId)),
    feedback.element,
    facts,
    h('div', { class: 'progress' }, h('label', { for: 'task-progress' }, 'Progress'), progress, progressText),
    live,
    lists,
  );
  return {
    title: `Task ${taskId}`,
    element,
    dispose: () => {
      stopped = true;
      window.clearTimeout(timer);
    },
  };
}
