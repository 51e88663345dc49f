/**
 * An endpoint simulator: N endpoints behind a simulated communication
 * service, speaking 4/ESP + 11/CEP over NATS to CEX, for tests, `make bench`
 * and `npm run simulate` (cli.ts).
 */
export { startSimulator } from './simulator.js';
export { RequestTimeoutError } from './requester.js';
export type { CommandHandler, SimCommand, SimDelivery, SimResult, Simulator, SimulatorOptions, SimulatorStats } from './types.js';
