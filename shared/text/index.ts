/** Small text helpers shared by the REST edge and the command line. */
export { closest, editDistance } from './suggest.js';
