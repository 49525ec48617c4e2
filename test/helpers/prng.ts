/** The tests' seeded PRNG is the runtime's (config/prng.ts): a failure reproduces from its seed. */
export { prng } from '../../config/prng.js';
