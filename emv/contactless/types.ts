/**
 * The contactless side's contract (EMV Contactless Books A and B): what Entry Point gives a
 * kernel when it activates it, what a kernel gives back (the Outcome of Book A 6.2), the
 * combinations the terminal is configured with, and the card in the reader's field.
 *
 * Entry Point (entry-point.ts) does pre-processing, PPSE selection, combination selection and
 * outcome processing; the kernels (kernel-c2.ts, Mastercard-style; kernel-c3.ts, Visa-style) run
 * the card. Pure: the card channel, the PIN pad and the host are injected, like the contact
 * kernel's (emv/kernel/types.ts, whose TerminalConfig, TransactionInput, HostAnswer and
 * OnlineRequest are reused here).
 */
import type { Tlv } from '../tlv/index.js';
import type { CardTransmit } from '../kernel/apdu.js';
import type { CardIdentity, HostAnswer, OnlineRequest, TerminalConfig, TransactionInput } from '../kernel/types.js';

/** Kernel identifier (Book B 3.3.2.5, tag 9F2A): 2 = Mastercard-style (Book C-2), 3 = Visa-style (Book C-3). */
export type KernelId = 2 | 3;

/** One combination the terminal supports: an AID with its kernel and limits (Book B 3.1.1, Entry Point configuration data). */
export interface ContactlessCombination {
  /** AID as hex. */
  aid: string;
  kernelId: KernelId;
  /** Minor units. At or above it, the combination is not allowed (Book B 3.1.1.4): try another interface. */
  transactionLimit?: number;
  /** Reader contactless floor limit; above it the transaction goes online. */
  floorLimit?: number;
  /** Reader CVM required limit; at or above it a CVM is required. */
  cvmRequiredLimit?: number;
  /** Status check support flag: an amount of one unit of currency asks for an online status check. */
  statusCheckSupported?: boolean;
  /** Zero amount allowed flag: an amount of 0 is allowed (online) rather than not allowed. */
  zeroAmountAllowed?: boolean;
  /** Terminal Transaction Qualifiers (9F66) as configured, 4 bytes hex (Visa-style kernel). */
  ttq?: string;
  /** Terminal action codes as 10 hex digits (Mastercard-style kernel). */
  tacDenial?: string;
  tacOnline?: string;
  tacDefault?: string;
  /** Terminal's application version number (9F09), hex. */
  applicationVersion?: string;
  /** Mastercard-style: whether mag-stripe mode is accepted (else refused: try another interface/decline). */
  magStripeModeSupported?: boolean;
  /** Mastercard-style relay resistance: the terminal's expected timings (100 us units, Book C-2 5.3). */
  relayResistance?: {
    minGracePeriod: number;
    maxGracePeriod: number;
    accuracyThreshold: number;
    mismatchThreshold: number;
  };
}

/** Pre-processing's result per combination (Book B 3.1.1): what the kernel reads. */
export interface PreProcessingIndicators {
  statusCheckRequested: boolean;
  contactlessApplicationNotAllowed: boolean;
  zeroAmount: boolean;
  cvmRequiredLimitExceeded: boolean;
  floorLimitExceeded: boolean;
  /** The TTQ copy with pre-processing's bits set (online cryptogram required, CVM required), when configured. */
  ttq?: Buffer;
}

/** Outcome status (Book A 6.2.1). */
export type OutcomeStatus =
  | 'approved'
  | 'declined'
  | 'online-request'
  | 'end-application'
  | 'select-next'
  | 'try-again'
  | 'try-another-interface';

/** CVM of the outcome (Book A 6.2.1): what the terminal must still do. */
export type OutcomeCvm = 'no-cvm' | 'online-pin' | 'signature' | 'confirmation-code-verified' | 'n/a';

/** Where Entry Point starts again, if it does (Book B 3.5): A pre-processing, B protocol activation, C combination selection, D kernel activation. */
export type OutcomeStart = 'A' | 'B' | 'C' | 'D' | 'n/a';

/** User interface request (Book A 7.1): the message and status the screen and the reader's LEDs show. */
export interface UiRequest {
  message:
    | 'approved'
    | 'declined'
    | 'present-card'
    | 'present-one-card'
    | 'insert-card'
    | 'see-phone'
    | 'processing'
    | 'remove-card'
    | 'try-again'
    | 'card-read-ok'
    | 'enter-pin'
    | 'sign'
    | 'authorising'
    | 'error';
  status: 'not-ready' | 'idle' | 'ready-to-read' | 'processing' | 'card-read-successfully' | 'processing-error';
  holdTimeMs?: number;
}

/** The Outcome parameter set (Book A 6.2) plus what the payment flow and the tests read. */
export interface ContactlessOutcome {
  status: OutcomeStatus;
  start: OutcomeStart;
  cvm: OutcomeCvm;
  uiRequestOnOutcome?: UiRequest;
  uiRequestOnRestart?: UiRequest;
  /** `online-request`: what the authorisation carries (DE55 from the kernel's data record, PAN, track 2 equivalent). */
  online?: OnlineRequest;
  /** Whether an online response must be given back to the kernel with the card presented again (restart at B). */
  onlineResponseData: 'none' | 'emv-data' | 'any';
  /** The kernel's data record: what DE55 and the clearing record carry. */
  dataRecord: Tlv[];
  discretionaryData?: Tlv[];
  /** try-another-interface: the interface to ask for. */
  alternateInterface?: 'contact-chip' | 'magstripe';
  /** A field-off request (ms) the reader honours before the next poll. */
  fieldOffRequestMs?: number;
  removalTimeoutMs?: number;
  receipt: boolean;
  kernelId?: KernelId;
  /** What the tests and the journal read. */
  tvr?: Buffer;
  /** Cryptogram information data (9F27) and the cryptogram (9F26). */
  cid?: number;
  cryptogram?: Buffer;
  oda: 'fDDA' | 'CDA' | 'none';
  odaFailed?: boolean;
  cvmResults?: Buffer;
  /** Why, in words a technician can act on. */
  reason: string;
}

export interface ContactlessCallbacks {
  /** Online PIN on the PIN pad (the outcome's CVM is online PIN): the PIN block, or null when bypassed. */
  requestOnlinePin?: (pan: string) => Promise<Buffer | null> | Buffer | null;
  /** The card's PAN and expiry, once read (never on a result that may be logged). */
  cardRead?: (card: CardIdentity) => void;
}

/** What Entry Point gives the kernel it activates (Book B 3.4). */
export interface KernelActivation {
  transmit: CardTransmit;
  combination: ContactlessCombination;
  indicators: PreProcessingIndicators;
  /** The FCI (6F ...) the card answered to SELECT of the combination's AID. */
  fci: Buffer;
  terminal: TerminalConfig;
  transaction: TransactionInput;
  callbacks: ContactlessCallbacks;
  /** On a restart after an online request whose response needs the card again: the issuer's answer. */
  onlineResponse?: HostAnswer;
}

export interface ContactlessKernel {
  readonly id: KernelId;
  activate(activation: KernelActivation): Promise<ContactlessOutcome>;
}

/** A card (or phone) in the reader's field, as the reader reports it and Entry Point talks to it. */
export interface ContactlessTarget {
  /** ISO 14443 type. */
  type: 'A' | 'B';
  /** UID (type A) or PUPI (type B). */
  uid: Buffer;
  transmit: CardTransmit;
}
