import { describe, expect, it } from 'vitest';
import { demoCurl, formatBanner } from '../../shared/host/banner.js';

const nats = 'nats://127.0.0.1:41234';
const fleet = Array.from({ length: 10 }, (_, i) => `demo-${i + 1}`);

describe('the dev host banner', () => {
  it('make demo: every URL, the NATS server, the fleet, and the curl that demo-1 answers', () => {
    const text = formatBanner({ port: 8080, natsUrl: nats, auth: false, demoEndpoints: fleet });
    expect(text.split('\n').filter((l) => l.trim() !== '')).toEqual([
      'CEX is ready, with a simulated fleet:',
      '  REST API   http://localhost:8080/api/v1',
      '  OpenAPI    http://localhost:8080/openapi.json',
      '  Metrics    http://localhost:8080/metrics',
      '  Readiness  http://localhost:8080/readyz',
      `  NATS       ${nats}`,
      '  Console    http://localhost:8080/console',
      '  Endpoints  demo-1 … demo-10 (simulated: they answer pushes and poll)',
      '  Auth       off (development only)',
      'Try:',
      `  curl -X POST 'localhost:8080/api/v1/endpoints/demo-1/commands/reboot?awaitTimeout=10' -H 'content-type: application/json' -d '{}'`,
      'Ctrl-C stops everything.',
    ]);
    expect(demoCurl(8080, 'demo-1')).toBe(
      `curl -X POST 'localhost:8080/api/v1/endpoints/demo-1/commands/reboot?awaitTimeout=10' -H 'content-type: application/json' -d '{}'`,
    );
  });

  it('make run: no fleet, so the command to try starts simulated endpoints on the NATS server shown', () => {
    const text = formatBanner({ port: 18080, natsUrl: nats, auth: true, demoEndpoints: [] });
    expect(text).toContain('CEX is ready:');
    expect(text).toContain('http://localhost:18080/api/v1');
    expect(text).not.toContain('Endpoints');
    expect(text).toContain(`npx cex-sim --nats ${nats} --endpoints 3`);
    expect(text).toContain('Auth       on: send Authorization: Bearer <token>');
    // Short: about a dozen lines, so it is read rather than scrolled past.
    expect(text.trim().split('\n').length).toBeLessThanOrEqual(13);
  });
});
