import { parseArgs } from 'node:util';
import { closest } from '../text/index.js';

/** A command line that cannot be run as given; `usage` is the subcommand's usage line, when known. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
  }
}

type OptionType = 'string' | 'boolean';

/** Every option of every subcommand, with its type; `global` ones go with any subcommand. */
const OPTIONS: Record<string, { type: OptionType; short?: string; global?: boolean }> = {
  json: { type: 'boolean', global: true },
  url: { type: 'string', global: true },
  token: { type: 'string', global: true },
  help: { type: 'boolean', short: 'h', global: true },
  version: { type: 'boolean', global: true },
  wait: { type: 'string' },
  ttl: { type: 'string' },
  callback: { type: 'string' },
  'idempotency-key': { type: 'string' },
  app: { type: 'string' },
  status: { type: 'string' },
  type: { type: 'string' },
  limit: { type: 'string' },
  page: { type: 'string' },
  offset: { type: 'string' },
  timeout: { type: 'string' },
  endpoints: { type: 'string' },
  filter: { type: 'string' },
  all: { type: 'boolean' },
};

/** What a subcommand takes: its options, how many arguments, and its usage line. */
export interface CommandSpec {
  options: readonly string[];
  /** Fewest and most positional arguments (after the subcommand's name). */
  args: readonly [number, number];
  usage: string;
}

export const COMMANDS: Record<string, CommandSpec> = {
  invoke: {
    options: ['wait', 'ttl', 'callback', 'idempotency-key'],
    args: [2, 3],
    usage: 'cex invoke <endpoint> <type> [json] [--wait S] [--ttl MS] [--callback URL] [--idempotency-key K]',
  },
  get: { options: [], args: [3, 3], usage: 'cex get <endpoint> <type> <id>' },
  delete: { options: [], args: [3, 3], usage: 'cex delete <endpoint> <type> <id>' },
  list: {
    options: ['app', 'status', 'type', 'limit', 'page'],
    args: [0, 100],
    usage: 'cex list <endpoint>[,<endpoint>…] | --app <name>  [--status S] [--type T] [--limit N] [--page N]',
  },
  watch: { options: ['timeout'], args: [1, 3], usage: 'cex watch <endpoint> [<type> <id>] [--timeout S]' },
  batch: {
    options: ['endpoints', 'filter', 'ttl'],
    args: [1, 2],
    usage: 'cex batch <type> --endpoints a,b,c|@file | --filter <filterId>  [json] [--ttl MS]',
  },
  task: { options: ['all'], args: [1, 1], usage: 'cex task <taskId> [--all]' },
  tasks: {
    options: ['app', 'type', 'filter', 'limit', 'offset'],
    args: [0, 0],
    usage: 'cex tasks [--app A] [--type T] [--filter F] [--limit N] [--offset N]',
  },
};

export interface ParsedLine {
  command: string | undefined;
  args: string[];
  opts: Record<string, string | boolean | undefined>;
}

/**
 * Parses argv and checks it against the subcommand's spec: an unknown
 * command or option gets "did you mean", an option of another subcommand is
 * named as such, a string option needs its value, and too few or too many
 * arguments are refused with the usage line (nothing is silently ignored).
 */
export function parseCommandLine(argv: string[]): ParsedLine {
  const options = Object.fromEntries(
    Object.entries(OPTIONS).map(([name, o]) => [name, o.short ? { type: o.type, short: o.short } : { type: o.type }]),
  );
  const { values, positionals, tokens } = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  const [command, ...args] = positionals;
  const spec = command === undefined ? undefined : COMMANDS[command];
  if (values.help || values.version) return { command, args, opts: values };
  if (command === undefined) throw new UsageError('a command is required: invoke, get, delete, list, watch, batch, task or tasks');
  if (!spec) {
    const guess = closest(command, Object.keys(COMMANDS));
    throw new UsageError(
      `unknown command "${command}"${guess ? `; did you mean "${guess}"?` : ''} (commands: ${Object.keys(COMMANDS).join(', ')})`,
    );
  }
  const usable = [...spec.options, ...Object.keys(OPTIONS).filter((name) => OPTIONS[name]!.global)];
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const known = OPTIONS[token.name];
    if (!known) {
      const guess = closest(token.name, usable);
      throw new UsageError(`unknown option ${token.rawName}${guess ? `; did you mean --${guess}?` : ''}`, spec.usage);
    }
    if (!usable.includes(token.name)) throw new UsageError(`--${token.name} is not an option of "${command}"`, spec.usage);
    if (known.type === 'string' && (token.value === undefined || token.value === null))
      throw new UsageError(`${token.rawName} needs a value`, spec.usage);
    if (known.type === 'boolean' && token.inlineValue) throw new UsageError(`${token.rawName} takes no value`, spec.usage);
  }
  const [min, max] = spec.args;
  if (args.length < min)
    throw new UsageError(`"${command}" needs ${min === max ? min : `at least ${min}`} argument${min === 1 ? '' : 's'}`, spec.usage);
  if (args.length > max) {
    const extra = args
      .slice(max)
      .map((a) => JSON.stringify(a))
      .join(' ');
    throw new UsageError(`"${command}" takes at most ${max} argument${max === 1 ? '' : 's'}; unexpected: ${extra}`, spec.usage);
  }
  return { command, args, opts: values };
}
