/**
 * The four in-process device simulators, as one module the factory loads only when a
 * device's `transport.kind` is `sim`: a box with real devices never loads them (nor the
 * virtual cards, the ESC/POS decoder and the PNG encoder they bring).
 */
import { ScannerSim } from './scanner/sim.js';
import { CardReaderSim } from './card-reader/sim.js';
import { PinpadSim } from './pinpad/sim.js';
import { PrinterSim } from './printer/sim.js';

export const SIM_KIT = { ScannerSim, CardReaderSim, PinpadSim, PrinterSim };

export type SimKit = typeof SIM_KIT;
