/**
 * The local API's hands on the simulated devices (`transport.kind: sim`, or `codposd --sim`),
 * for technicians and tests driving a whole payment through the daemon:
 *
 *   POST /v1/sim/card     { action: "insert" | "swipe", card: PROFILE } | { action: "tap", card: CONTACTLESS_PROFILE }
 *                         | { action: "remove" } (the card leaves the slot and the field)
 *   POST /v1/sim/pinpad   { pin: "1234" } (typed at each PIN request) | { cancel: true } | {}
 *   GET  /v1/sim/printer  { pages: [[line, ...], ...] }: what the simulated printer printed
 *   POST /v1/sim/printer  { paper: "out" | "in" } | { cover: "open" | "closed" }: the printer stops or goes on
 *   GET  /v1/sim/backend  { records: [...] }: what the back-end simulator holds (uplink.mode sim)
 *   POST /v1/sim/backend  { outage: true | false }: the back-end simulator answers 503 until the outage ends
 *   POST /v1/sim/host     { rule: SimRule } | { clear: true }: how the acquirer simulator answers next
 *                         (a partial approval for an amount, a decline, silence; host.mode sim)
 *   POST /v1/sim/wallet   { action: "scan", payload, outcome } (the consignee's wallet scans the code
 *                         shown and pays, declines or ignores it) | { action: "consumer-code", outcome }
 *                         (the wallet shows a code for the scanner): the PSP simulator's wallet (qr.pspSimulator)
 *   POST /v1/sim/psp      { behaviour: ["decline"] | ["slow", "3000"] | ... }: the PSP simulator's next order (docs/psp.md)
 *
 * A device that is not simulated answers 404 on its path: nothing here can reach a real one.
 */
import { PosError } from '../../config/errors.js';
import type { BuiltDevices } from '../../drivers/factory.js';
import type { SimFieldCard } from '../../drivers/card-reader/contactless-field.js';
import type { CardReaderSim } from '../../drivers/card-reader/sim.js';
import type { BackendSimulator } from '../uplink/simulator.js';
import type { AcquirerHostSimulator, SimRule } from '../host/simulator.js';
import type { PspSimulator } from '../psp/simulator.js';
import { parseBehaviour } from '../psp/sim-rules.js';
import type { ApiRoutes } from './server.js';
import { z } from 'zod';

/** The shapes of the controls' bodies; which combinations make sense each control checks and names. */
const CARD_BODY = z.object({
  action: z.enum(['insert', 'swipe', 'tap', 'remove']),
  card: z
    .string()
    .optional()
    .meta({
      description:
        'a virtual card profile (emv/card/profiles) for insert and swipe; a contactless one (emv/card/contactless-profiles) for tap',
      examples: ['visa-dda'],
    }),
});
const PINPAD_BODY = z.object({
  pin: z.string().optional().meta({ description: '4 to 12 digits, typed at each PIN request' }),
  cancel: z.boolean().optional(),
});
const PRINTER_BODY = z.object({
  paper: z.enum(['out', 'in']).optional(),
  cover: z.enum(['open', 'closed']).optional(),
});
const BACKEND_BODY = z.object({ outage: z.boolean() });
const WALLET_OUTCOME = z.enum(['pay', 'decline', 'ignore']).meta({ description: 'what the consignee does' });
const WALLET_BODY = z.object({
  action: z.enum(['scan', 'consumer-code']),
  payload: z.string().optional().meta({ description: 'scan: the merchant-presented payload the screen shows' }),
  outcome: WALLET_OUTCOME,
});
const PSP_BODY = z.object({
  behaviour: z
    .array(z.string())
    .min(1)
    .meta({
      description: "the PSP simulator's behaviour for the next order, as its console words",
      examples: [['decline']],
    }),
});
/** The rule is the acquirer simulator's to check (runtime/host/simulator.ts). */
const HOST_BODY = z.object({ rule: z.looseObject({}).optional(), clear: z.boolean().optional() });

/** The virtual contactless cards a tap can put in the simulated reader's field, by profile name. */
export interface ContactlessCardSource {
  names(): string[];
  load(name: string): SimFieldCard;
}

export class SimControl {
  /** Given by the contactless profiles' loader (useContactlessCards); until then a tap is refused. */
  private contactlessCards: ContactlessCardSource | undefined;
  /** What the simulated PIN pad's customer does when asked: type this PIN, cancel, or nothing. */
  private customer: { pin: string } | { cancel: true } | undefined;
  private listening = false;

  constructor(
    private readonly devices: () => BuiltDevices,
    private readonly backend: () => BackendSimulator | undefined = () => undefined,
    private readonly acquirer: () => AcquirerHostSimulator | undefined = () => undefined,
    private readonly psp: () => PspSimulator | undefined = () => undefined,
  ) {}

  /** The hook for the loader of the virtual contactless cards: what `{ action: "tap", card }` taps. */
  useContactlessCards(source: ContactlessCardSource): void {
    this.contactlessCards = source;
  }

  routes(): ApiRoutes {
    return {
      '/v1/sim/card': {
        POST: {
          summary: 'inserts, swipes or taps a virtual card, or removes it (simulated reader)',
          body: CARD_BODY,
          refusal: 'CODPOS_USAGE_SIM',
          handler: (body) => this.card(body),
        },
      },
      '/v1/sim/pinpad': {
        POST: {
          summary: "what the simulated PIN pad's customer does: type a PIN, cancel, or wait ({})",
          body: PINPAD_BODY,
          refusal: 'CODPOS_USAGE_SIM',
          handler: (body) => this.pinpad(body),
        },
      },
      '/v1/sim/printer': {
        GET: {
          summary: 'what the simulated printer printed',
          handler: async () => ({ pages: this.simulated('printer').pages }),
        },
        POST: {
          summary: "the simulated printer's paper out or in, its cover open or closed",
          body: PRINTER_BODY,
          refusal: 'CODPOS_USAGE_SIM',
          handler: (body) => this.printer(body),
        },
      },
      '/v1/sim/backend': {
        GET: {
          summary: 'what the back-end simulator holds',
          handler: async () => ({ records: [...this.simulatedBackend().records.values()] }),
        },
        POST: {
          summary: 'the back-end simulator answers 503 until the outage ends',
          body: BACKEND_BODY,
          refusal: 'CODPOS_USAGE_SIM',
          handler: (body) => this.backendOutage(body),
        },
      },
      '/v1/sim/host': {
        POST: {
          summary: 'how the acquirer simulator answers next (a partial approval, a decline, silence), or clear: true',
          body: HOST_BODY,
          refusal: 'CODPOS_USAGE_SIM',
          handler: (body) => this.host(body),
        },
      },
      '/v1/sim/wallet': {
        POST: {
          summary:
            "the PSP simulator's wallet: scan the code shown and pay, decline or ignore it, or make a consumer code",
          body: WALLET_BODY,
          refusal: 'CODPOS_USAGE_SIM',
          handler: async (body) => {
            const wallet = this.simulatedPsp().wallet;
            const request = body as z.infer<typeof WALLET_BODY>;
            if (request.action === 'scan') {
              if (request.payload === undefined)
                throw new PosError('CODPOS_USAGE_SIM', 'payload: a scan needs the payload the screen shows');
              return wallet.scan(request.payload, { outcome: request.outcome });
            }
            return { code: wallet.consumerCode({ kind: 'token', outcome: request.outcome }) };
          },
        },
      },
      '/v1/sim/psp': {
        POST: {
          summary: "the PSP simulator's behaviour for the next order (decline, slow, lose-notification, ...)",
          body: PSP_BODY,
          refusal: 'CODPOS_USAGE_SIM',
          handler: async (body) => {
            const psp = this.simulatedPsp();
            const behaviour = parseBehaviour((body as z.infer<typeof PSP_BODY>).behaviour);
            psp.setNextBehaviour(behaviour);
            return { next: behaviour };
          },
        },
      },
    };
  }

  private simulatedPsp(): PspSimulator {
    const psp = this.psp();
    if (!psp) throw new PosError('CODPOS_USAGE_NOT_FOUND', 'the PSP is not simulated in this daemon (qr.pspSimulator)');
    return psp;
  }

  private simulatedBackend(): BackendSimulator {
    const backend = this.backend();
    if (!backend)
      throw new PosError(
        'CODPOS_USAGE_NOT_FOUND',
        'the back-end is not simulated in this daemon (uplink.mode is http)',
      );
    return backend;
  }

  private async backendOutage(body: unknown): Promise<unknown> {
    const backend = this.simulatedBackend();
    const { outage } = (body ?? {}) as { outage?: unknown };
    if (typeof outage !== 'boolean')
      throw new PosError(
        'CODPOS_USAGE_SIM',
        'outage: expected true (the back-end answers 503) or false (it answers again)',
      );
    backend.clearRules();
    if (outage) backend.addRule({ action: 'unavailable' });
    return { outage };
  }

  private async host(body: unknown): Promise<unknown> {
    const acquirer = this.acquirer();
    if (!acquirer)
      throw new PosError('CODPOS_USAGE_NOT_FOUND', 'the acquirer is not simulated in this daemon (host.mode is tcp)');
    const { rule, clear } = (body ?? {}) as { rule?: unknown; clear?: unknown };
    if (clear === true) {
      acquirer.clearRules();
      return { cleared: true };
    }
    if (typeof rule !== 'object' || rule === null)
      throw new PosError(
        'CODPOS_USAGE_SIM',
        'rule: expected a simulator rule such as { "mti": "0200", "amount": 4000, "action": "partial", "approvedAmount": 2500 }, or clear: true',
      );
    // The simulator checks the rule and names what is wrong with it.
    acquirer.behave(rule as SimRule);
    return { rule };
  }

  private async card(body: unknown): Promise<unknown> {
    const sim = this.simulated('cardReader');
    const { action, card } = (body ?? {}) as { action?: unknown; card?: unknown };
    if (action === 'remove') {
      await sim.remove();
      await sim.removeFromField();
      return { removed: true };
    }
    if (action === 'tap') return this.tap(sim, card);
    if (action !== 'insert' && action !== 'swipe')
      throw new PosError('CODPOS_USAGE_SIM', 'action: expected insert, swipe, tap or remove');
    // The virtual cards load with the first one asked for: a box with a real reader never needs them.
    const { VirtualCard, listCardProfiles, loadCardProfile } = await import('../../emv/card/index.js');
    if (typeof card !== 'string' || !listCardProfiles().includes(card)) {
      throw new PosError(
        'CODPOS_USAGE_SIM',
        `card: expected a virtual card profile (${listCardProfiles().join(', ')})`,
      );
    }
    const virtual = new VirtualCard(loadCardProfile(card));
    if (action === 'insert') await sim.insert(virtual);
    else await sim.swipe(virtual);
    return { [action === 'insert' ? 'inserted' : 'swiped']: card };
  }

  private async tap(sim: CardReaderSim, card: unknown): Promise<unknown> {
    const source = this.contactlessCards;
    if (!source) throw new PosError('CODPOS_USAGE_SIM', 'card: no virtual contactless cards are loaded in this daemon');
    if (typeof card !== 'string' || !source.names().includes(card))
      throw new PosError(
        'CODPOS_USAGE_SIM',
        `card: expected a contactless card profile (${source.names().join(', ')})`,
      );
    await sim.tap(source.load(card));
    return { tapped: card };
  }

  private async printer(body: unknown): Promise<unknown> {
    const sim = this.simulated('printer');
    const { paper, cover } = (body ?? {}) as { paper?: unknown; cover?: unknown };
    if (paper === 'out') sim.paperOut();
    else if (paper === 'in') sim.paperIn();
    else if (cover === 'open') sim.openCover();
    else if (cover === 'closed') sim.closeCover();
    else throw new PosError('CODPOS_USAGE_SIM', 'expected { paper: "out" | "in" } or { cover: "open" | "closed" }');
    return { status: sim.status };
  }

  private async pinpad(body: unknown): Promise<unknown> {
    const sim = this.simulated('pinpad');
    const { pin, cancel } = (body ?? {}) as { pin?: unknown; cancel?: unknown };
    if (cancel === true) this.customer = { cancel: true };
    else if (typeof pin === 'string' && /^[0-9]{4,12}$/.test(pin)) this.customer = { pin };
    else if (pin === undefined) this.customer = undefined;
    else throw new PosError('CODPOS_USAGE_SIM', 'pin: expected 4 to 12 digits');
    if (!this.listening) {
      this.listening = true;
      sim.on('prompt', () => {
        const customer = this.customer;
        if (customer === undefined) return;
        if ('cancel' in customer) sim.cancelKey();
        else sim.enterPin(customer.pin);
      });
    }
    return { customer: this.customer === undefined ? 'waits' : 'cancel' in this.customer ? 'cancels' : 'types a PIN' };
  }

  private simulated<Name extends 'cardReader' | 'pinpad' | 'printer'>(
    name: Name,
  ): NonNullable<NonNullable<BuiltDevices[Name]>['sim']> {
    const sim = this.devices()[name]?.sim;
    if (!sim) throw new PosError('CODPOS_USAGE_NOT_FOUND', `the ${name} is not simulated in this daemon`);
    return sim as NonNullable<NonNullable<BuiltDevices[Name]>['sim']>;
  }
}
