/**
 * The clock the node passes its replicas and the simulator replaces. The interface is defined in
 * src/wire/clock.ts, where the client, which imports nothing from storage/, takes it too.
 */
export { systemClock, sleep, type Clock, type Timer } from '../src/wire/clock.js';
