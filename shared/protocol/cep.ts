/**
 * 11/CEP payloads (carried inside 4/ESP) and their validators. Inbound
 * payloads come from devices, so every failure becomes a PayloadError whose
 * message is fit to send back as the 1/KP reasonPhrase.
 */
import * as z from 'zod';
import { MAX_COMMAND_ID } from '../domain/index.js';
import { PayloadError, type PayloadErrorCode } from './errors.js';
import { parseJsonPayload } from './json.js';
import { commandTypeSchema } from './resource-path.js';

/** Longest reasonPhrase accepted from an endpoint; it ends up in headers and rows. */
export const MAX_REASON_PHRASE_LENGTH = 1024;
/**
 * Most results accepted in one `/result/{type}` message. Each result is a
 * database write; a device with more to report can send several messages.
 */
export const MAX_RESULTS_PER_MESSAGE = 1000;

// Bounds of an HTTP status code (RFC 9110 §15: three digits, 1xx to 5xx).
// Endpoint results are "based on HTTP status codes", so anything else is a
// device bug rather than information worth storing.
const MIN_STATUS_CODE = 100;
const MAX_STATUS_CODE = 599;

/** Makes zod's own message for a wrong JSON type explicit about what was wanted. */
const objectError = (what: string) => (issue: { code: string }) =>
  issue.code === 'invalid_type' ? `${what} must be a JSON object` : undefined;

/** A command id: a positive 32-bit integer (docs/rest-api.md, Commands). */
export const commandIdSchema = z
  .int({ error: 'id must be an integer' })
  .min(1, { error: 'id must be a positive integer' })
  .max(MAX_COMMAND_ID, { error: `id must not exceed ${MAX_COMMAND_ID}` });

/** Request payload of `/command[/{type}]`: only the optional `observe` flag. */
export const commandRequestSchema = z.strictObject(
  { observe: z.boolean({ error: 'observe must be a boolean' }).optional() },
  { error: objectError('command request') },
);
export type CommandRequest = z.infer<typeof commandRequestSchema>;

/** One result as an endpoint sends it to `/result/{type}`. */
export const resultItemSchema = z.strictObject(
  {
    id: commandIdSchema,
    statusCode: z
      .int({ error: 'statusCode must be an integer' })
      .min(MIN_STATUS_CODE, { error: `statusCode must be from ${MIN_STATUS_CODE} to ${MAX_STATUS_CODE}` })
      .max(MAX_STATUS_CODE, { error: `statusCode must be from ${MIN_STATUS_CODE} to ${MAX_STATUS_CODE}` }),
    reasonPhrase: z
      .string({ error: 'reasonPhrase must be a string' })
      .max(MAX_REASON_PHRASE_LENGTH, { error: `reasonPhrase must be at most ${MAX_REASON_PHRASE_LENGTH} characters` })
      .optional(),
    payload: z.unknown().optional(),
  },
  { error: objectError('result') },
);

/** A validated result, normalised: absent reasonPhrase and payload become null. */
export interface ResultItem {
  id: number;
  statusCode: number;
  reasonPhrase: string | null;
  /** Any JSON value; null when the endpoint sent none. */
  payload: unknown;
}

/** One item of a `/command/{type}` response or push. */
export const commandResponseItemSchema = z.strictObject({ id: commandIdSchema, payload: z.unknown() });
export interface CommandResponseItem {
  id: number;
  payload: unknown;
}

/** One item of a `/command` (all types) response: the same plus the command type. */
export const typedCommandResponseItemSchema = z.strictObject({
  id: commandIdSchema,
  type: commandTypeSchema,
  payload: z.unknown(),
});
export interface TypedCommandResponseItem extends CommandResponseItem {
  type: string;
}

/** The 1/KP error (and `/result` status) body: both fields required. */
export const kpErrorBodySchema = z.strictObject({
  statusCode: z.int(),
  reasonPhrase: z.string(),
});
export type KpErrorBody = z.infer<typeof kpErrorBodySchema>;

/** Builds a 1/KP error body, e.g. `kpErrorBody(400, 'payload is not valid JSON')`. */
export function kpErrorBody(statusCode: number, reasonPhrase: string): KpErrorBody {
  return { statusCode, reasonPhrase };
}

/**
 * Validates a `/command[/{type}]` request payload. An empty (or all-blank)
 * payload means `{}`. Throws PayloadError with a device-readable reason.
 */
export function parseCommandRequest(bytes: Uint8Array): CommandRequest {
  if (isBlank(bytes)) return {};
  const parsed = commandRequestSchema.safeParse(parseJsonPayload(bytes));
  if (!parsed.success) throw fromZod('INVALID_COMMAND_REQUEST', 'invalid command request', parsed.error);
  return parsed.data;
}

/**
 * Validates a `/result/{type}` payload: an array of results or one result
 * object (the RFC's own schema shows the latter), always returned as an array.
 */
export function parseResultRequest(bytes: Uint8Array): ResultItem[] {
  const json = parseJsonPayload(bytes);
  const items = Array.isArray(json) ? json : [json];
  if (items.length === 0) throw new PayloadError('INVALID_RESULT_REQUEST', 'result array is empty');
  if (items.length > MAX_RESULTS_PER_MESSAGE) {
    throw new PayloadError('INVALID_RESULT_REQUEST', `at most ${MAX_RESULTS_PER_MESSAGE} results per message`);
  }
  return items.map((item, index) => {
    const parsed = resultItemSchema.safeParse(item);
    if (!parsed.success) {
      const where = Array.isArray(json) ? `invalid result [${index}]` : 'invalid result';
      throw fromZod('INVALID_RESULT_REQUEST', where, parsed.error);
    }
    const { id, statusCode, reasonPhrase, payload } = parsed.data;
    return { id, statusCode, reasonPhrase: reasonPhrase ?? null, payload: payload ?? null };
  });
}

function isBlank(bytes: Uint8Array): boolean {
  // Only JSON whitespace counts as blank; anything else goes to the JSON parser.
  return bytes.every((b) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d);
}

/** One readable sentence from the first zod issue, e.g. `invalid result [2]: statusCode must be …`. */
function fromZod(code: PayloadErrorCode, prefix: string, error: z.ZodError): PayloadError {
  const issue = error.issues[0];
  if (!issue) return new PayloadError(code, prefix, { cause: error });
  // The schema's own messages name their field; only unknown keys need spelling out.
  const message =
    issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${listKeys(issue.keys)}` : issue.message;
  return new PayloadError(code, `${prefix}: ${message}`, { cause: error });
}

/** Device-chosen keys for the reasonPhrase, few and cut short so they cannot flood it. */
function listKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, 5).map((k) => JSON.stringify(k.length > 64 ? `${k.slice(0, 64)}…` : k));
  return keys.length > 5 ? `${shown.join(', ')} (and ${keys.length - 5} more)` : shown.join(', ');
}
