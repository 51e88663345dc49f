import { h } from './dom.js';
import { COMMAND_TYPE } from './types.js';

/**
 * The fields every invoke form shares (the endpoint page and the batch
 * form): command type, payload, TTL. Values are checked here before anything
 * is sent; the message says what is wrong.
 */
export class CommandFields {
  readonly type = h('input', { name: 'commandType', required: true, autocomplete: 'off', spellcheck: 'false', placeholder: 'reboot' });
  readonly payload = h('textarea', { name: 'payload', rows: 3, spellcheck: 'false', placeholder: '{"delay": 5}' });
  readonly ttl = h('input', { name: 'commandTtl', type: 'number', min: 0, max: 2147483647, step: 1, inputmode: 'numeric' });

  /** The command type, or an error naming the field. */
  commandType(): string {
    const value = this.type.value.trim();
    if (!COMMAND_TYPE.test(value)) {
      this.type.setAttribute('aria-invalid', 'true');
      this.type.focus();
      throw new Error('Command type must be 1–128 characters of A–Z a–z 0–9 _ -.');
    }
    this.type.removeAttribute('aria-invalid');
    return value;
  }

  /** The payload as JSON text ('' = none, the command's payload is null); refuses text that is not JSON. */
  payloadText(): string {
    const text = this.payload.value.trim();
    if (text === '') return '';
    try {
      JSON.parse(text);
    } catch (err) {
      this.payload.setAttribute('aria-invalid', 'true');
      this.payload.focus();
      throw new Error(`Payload is not valid JSON: ${(err as Error).message}. Nothing was sent.`, { cause: err });
    }
    this.payload.removeAttribute('aria-invalid');
    return text;
  }

  /** The TTL in ms, or undefined for the server's default. */
  commandTtl(): number | undefined {
    const text = this.ttl.value.trim();
    if (text === '') return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0 || n > 2_147_483_647) {
      this.ttl.setAttribute('aria-invalid', 'true');
      this.ttl.focus();
      throw new Error('TTL must be a whole number of milliseconds, 0–2147483647.');
    }
    this.ttl.removeAttribute('aria-invalid');
    return n;
  }
}
