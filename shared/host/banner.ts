/** What the dev host prints once it is ready. */
export interface BannerInfo {
  /** The port the dev host serves on. */
  port: number;
  /** The NATS server CEX and the simulated endpoints use. */
  natsUrl: string;
  /** Whether requests must carry a bearer token. */
  auth: boolean;
  /** The simulated endpoints `make demo` started; none with `make run`. */
  demoEndpoints: readonly string[];
}

/** The sync invoke `make demo` suggests: demo-1 answers it at once. */
export function demoCurl(port: number, endpointId: string): string {
  return (
    `curl -X POST 'localhost:${port}/api/v1/endpoints/${endpointId}/commands/reboot?awaitTimeout=10' ` +
    `-H 'content-type: application/json' -d '{}'`
  );
}

/**
 * The one human-readable block the dev host writes to stderr when it becomes
 * ready (the JSON logs go to stdout): where everything is, and one command to
 * try. Kept short on purpose: details belong in the logs and the docs.
 */
export function formatBanner(info: BannerInfo): string {
  const base = `http://localhost:${info.port}`;
  const rows: [string, string][] = [
    ['REST API', `${base}/api/v1`],
    ['OpenAPI', `${base}/openapi.json`],
    ['Metrics', `${base}/metrics`],
    ['Readiness', `${base}/readyz`],
    ['NATS', info.natsUrl],
    ['Console', `${base}/console`],
  ];
  const { demoEndpoints: fleet } = info;
  if (fleet.length > 0) rows.push(['Endpoints', `${fleet[0]} … ${fleet.at(-1)} (simulated: they answer pushes and poll)`]);
  rows.push(['Auth', info.auth ? 'on: send Authorization: Bearer <token>' : 'off (development only)']);
  const tryIt =
    fleet.length > 0
      ? demoCurl(info.port, fleet[0]!)
      : `npx cex-sim --nats ${info.natsUrl} --endpoints 3    # simulated endpoints sim-ep-1..3 (make demo starts ten)`;
  const width = Math.max(...rows.map(([label]) => label.length));
  return [
    '',
    `CEX is ready${fleet.length > 0 ? ', with a simulated fleet' : ''}:`,
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    'Try:',
    `  ${tryIt}`,
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}
