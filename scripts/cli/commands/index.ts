/**
 * Every command group of `codpos`, one module each in this folder (`register(program)` and
 * `order`, the place in the help). Listed here rather than found by reading the folder so
 * that the CLI can be bundled into one file (scripts/build/bundle.ts); a test checks that
 * each module of the folder is here.
 */
import type { Command } from 'commander';
import * as config from './config.js';
import * as diag from './diag.js';
import * as emv from './emv.js';
import * as events from './events.js';
import * as handover from './handover.js';
import * as iso8583 from './iso8583.js';
import * as lab from './lab.js';
import * as params from './params.js';
import * as paramsDaemon from './params-daemon.js';
import * as pay from './pay.js';
import * as payments from './payments.js';
import * as qr from './qr.js';
import * as quote from './quote.js';
import * as report from './report.js';
import * as sim from './sim.js';
import * as simBackend from './sim-backend.js';
import * as simHost from './sim-host.js';
import * as simPay from './sim-pay.js';
import * as simPsp from './sim-psp.js';
import * as spool from './spool.js';
import * as status from './status.js';
import * as tasks from './tasks.js';
import * as waybill from './waybill.js';

export interface CommandModule {
  order: number;
  register(program: Command): void;
}

/** In the order their help lists them. */
export const COMMAND_MODULES: readonly CommandModule[] = [
  config,
  diag,
  emv,
  events,
  handover,
  iso8583,
  lab,
  params,
  paramsDaemon,
  pay,
  payments,
  qr,
  quote,
  report,
  sim,
  simBackend,
  simHost,
  simPay,
  simPsp,
  spool,
  status,
  tasks,
  waybill,
].sort((a, b) => a.order - b.order);
