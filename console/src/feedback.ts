import { ApiProblem } from './api.js';
import { h, replace } from './dom.js';

/**
 * The message area beside an action: errors (problem+json answers, bad
 * input) and outcomes are written here, announced to screen readers
 * (role=status; role=alert for errors).
 */
export class Feedback {
  readonly element = h('div', { class: 'feedback', role: 'status' });

  ok(text: string): void {
    this.element.setAttribute('role', 'status');
    this.element.className = 'feedback ok';
    replace(this.element, text);
  }

  error(err: unknown): void {
    this.element.setAttribute('role', 'alert');
    this.element.className = 'feedback error';
    replace(this.element, describeError(err));
  }

  clear(): void {
    this.element.className = 'feedback';
    replace(this.element);
  }
}

/** A plain sentence for an error: 403 names the missing scope; others show CEX's own detail and code. */
export function describeError(err: unknown): string {
  if (err instanceof ApiProblem) {
    if (err.status === 403) {
      return err.missingScope ? `Not allowed: your sign-in lacks the scope "${err.missingScope}".` : `Not allowed: ${err.detail}`;
    }
    if (err.status === 0) return err.detail;
    return `${err.detail} (${err.status} ${err.code})`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** A command status as a badge. */
export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `badge badge-${status.toLowerCase()}` }, status);
}
