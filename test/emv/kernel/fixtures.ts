/** Terminal configuration, transactions and scripted hosts shared by the kernel tests. */
import { VirtualCard, loadCardProfile, testCaPublicKeys, type CardProfile } from '../../../emv/card/index.js';
import { runTransaction } from '../../../emv/kernel/index.js';
import type {
  HostAnswer,
  KernelCallbacks,
  KernelResult,
  OnlineRequest,
  TerminalApplication,
  TerminalConfig,
  TransactionInput,
} from '../../../emv/kernel/index.js';

export const VISA_APP: TerminalApplication = {
  aid: 'A0000000031010',
  partialSelection: true,
  applicationVersion: '0096',
  // Visa-style TACs: deny when service not allowed; online for most failures.
  tacDenial: '0010000000',
  tacOnline: 'DC4004F800',
  tacDefault: 'DC4000A800',
  floorLimit: 0,
};
export const MC_APP: TerminalApplication = {
  aid: 'A0000000041010',
  partialSelection: false,
  applicationVersion: '0002',
  tacDenial: '0400000000',
  tacOnline: 'FC50BCF800',
  tacDefault: 'FC50BCA000',
  floorLimit: 0,
};

export function terminal(overrides: Partial<TerminalConfig> = {}): TerminalConfig {
  return {
    countryCode: '0840',
    // IC + magstripe; online PIN, signature, no CVM; SDA, DDA, CDA.
    capabilities: 'E068C8',
    additionalCapabilities: '6000F0A001',
    terminalType: '22',
    terminalId: 'COD00001',
    merchantId: 'CODPOS-MERCHANT',
    applications: [VISA_APP, MC_APP],
    caKeys: testCaPublicKeys(),
    onlineCapable: true,
    pinPadPresent: true,
    ...overrides,
  };
}

export function transaction(overrides: Partial<TransactionInput> = {}): TransactionInput {
  return {
    amount: 1500,
    currencyCode: '0840',
    transactionType: '00',
    date: new Date('2026-11-29T10:15:00Z'),
    sequenceCounter: 1,
    unpredictableNumber: Buffer.from('12345678', 'hex'),
    ...overrides,
  };
}

export function card(name: string, change?: (p: CardProfile) => void): VirtualCard {
  const profile = loadCardProfile(name);
  change?.(profile);
  const c = new VirtualCard(profile);
  c.powerOn();
  return c;
}

export interface RunOptions {
  terminal?: Partial<TerminalConfig>;
  transaction?: Partial<TransactionInput>;
  host?: (request: OnlineRequest) => HostAnswer;
  callbacks?: Partial<KernelCallbacks>;
}

export async function run(
  c: VirtualCard,
  options: RunOptions = {},
): Promise<{ result: KernelResult; requests: OnlineRequest[] }> {
  const requests: OnlineRequest[] = [];
  const result = await runTransaction({
    transmit: (apdu) => c.transmit(apdu),
    terminal: terminal(options.terminal),
    transaction: transaction(options.transaction),
    callbacks: {
      requestOnlinePin: () => Buffer.from('0412AC89ABCDEF67', 'hex'),
      goOnline: (request) => {
        requests.push(request);
        if (!options.host) throw new Error('test did not expect the host to be called');
        return options.host(request);
      },
      random: () => 99,
      ...options.callbacks,
    },
  });
  return { result, requests };
}

import { encodeTlv, type Tlv } from '../../../emv/tlv/index.js';
import { cryptogramOf, issuerAuthenticationData, securedScriptCommand } from '../../../runtime/host/sim-issuer.js';

/** Issuer-side view of a card profile: the ARPC and script MACs of the acquirer simulator's issuer (sim-issuer.ts). */
export function issuerFor(c: VirtualCard) {
  const app = c.profile.applications[0]!;
  const cryptogram = (request: OnlineRequest) => cryptogramOf(request.de55)!;
  return {
    /** Tag 91 for an ARC: method 1 (ARPC || ARC) or, for CVN 18, method 2 (ARPC || CSU). */
    issuerAuthenticationData(request: OnlineRequest, arc: string): Buffer {
      return issuerAuthenticationData(app, cryptogram(request), arc);
    },
    /** One script command with secure messaging: CLA 84, the MAC appended to the data. */
    scriptCommand(request: OnlineRequest, ins: number, p1: number, p2: number, data: Buffer = Buffer.alloc(0)): Buffer {
      return securedScriptCommand(app, cryptogram(request), { ins, p1, p2, data });
    },
  };
}

export function scriptTemplate(tag: 0x71 | 0x72, id: string, commands: Buffer[]): Buffer {
  const children: Tlv[] = [
    { tag: 0x9f18, value: Buffer.from(id, 'hex') },
    ...commands.map((value) => ({ tag: 0x86, value })),
  ];
  return encodeTlv([{ tag, value: Buffer.alloc(0), children }]);
}
