/**
 * 11/CEP resource paths: the extension-specific tail of the 1/KP topic that
 * the communication service passes in ClientData.resourcePath.
 */
import * as z from 'zod';
import { COMMAND_TYPE_PATTERN } from '../domain/index.js';
import { PayloadError } from './errors.js';

/** A command type as CEX accepts it (docs/rest-api.md, Commands). */
export const commandTypeSchema = z
  .string({ error: 'command type must be a string' })
  .regex(COMMAND_TYPE_PATTERN, { error: 'command type must be 1-128 characters of A-Z, a-z, 0-9, "_" or "-"' });

/** What an 11/CEP resource path asks for. */
export type ResourcePath =
  /** `/command/{type}`, or `/command` (commandType null) for every type. */
  | { kind: 'command'; commandType: string | null }
  /** `/result/{type}`. */
  | { kind: 'result'; commandType: string };

// Well past the longest valid path ("/command/" plus 128 characters), so an
// over-long type still gets the specific message, but bounded so a hostile
// path is neither split at length nor echoed back in full.
const MAX_PATH_LENGTH = 512;

/**
 * Parses `/command`, `/command/{type}` or `/result/{type}`; anything else
 * throws PayloadError (`INVALID_RESOURCE_PATH`, or `INVALID_COMMAND_TYPE` for
 * a well-placed but malformed type).
 *
 * A trailing slash is refused: in MQTT `…/command/` is its own topic with an
 * empty last level, and reading it as "all types" or as an empty type would
 * both be guesses. Extra levels (`/command/a/b`) are refused for the same reason.
 */
export function parseResourcePath(path: string): ResourcePath {
  if (typeof path !== 'string' || path.length > MAX_PATH_LENGTH) {
    throw new PayloadError('INVALID_RESOURCE_PATH', 'unsupported resource path (too long)');
  }
  if (path === '/command') return { kind: 'command', commandType: null };
  const parts = path.split('/');
  // A valid path splits into ['', 'command' | 'result', type].
  const [lead, resource, type] = parts;
  if (parts.length !== 3 || lead !== '' || (resource !== 'command' && resource !== 'result') || type === undefined) {
    throw new PayloadError(
      'INVALID_RESOURCE_PATH',
      `unsupported resource path ${JSON.stringify(path)}; expected /command, /command/{type} or /result/{type}`,
    );
  }
  if (!COMMAND_TYPE_PATTERN.test(type)) {
    const reason = type === '' ? 'command type is missing' : `invalid command type ${JSON.stringify(type)}`;
    throw new PayloadError(
      type === '' ? 'INVALID_RESOURCE_PATH' : 'INVALID_COMMAND_TYPE',
      `${reason}; it must be 1-128 characters of A-Z, a-z, 0-9, "_" or "-"`,
    );
  }
  return resource === 'command' ? { kind: 'command', commandType: type } : { kind: 'result', commandType: type };
}
