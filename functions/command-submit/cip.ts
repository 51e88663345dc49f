import type { CloudEvent } from '@google-cloud/functions-framework';
import { CexError } from '../../shared/errors/index.js';

/** 12/CIP command-request CloudEvents from the bridge (being built: see the endpoint-side issue). */
export async function handleCipEvent(_event: CloudEvent<unknown>): Promise<unknown> {
  throw new CexError(501, 'NOT_IMPLEMENTED', '12/CIP is not served yet');
}
