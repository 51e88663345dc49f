/**
 * Every value of FUNCTION_TARGET: what one container of the image runs. A
 * module of its own, free of zod, so the image's launcher
 * (functions/launch.ts) can check a target without loading the config schema.
 */
export const FUNCTION_TARGETS = [
  'command-submit',
  'command-lookup',
  'history-listing',
  'esp-inbound',
  'scmp-config-reload',
  'nats-bridge',
  'console',
  'migrate',
] as const;
export type FunctionTarget = (typeof FUNCTION_TARGETS)[number];
