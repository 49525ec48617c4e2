/**
 * Parameter packages: what terminal management sends a box to change how it pays without a
 * visit (docs/params.md). The contract between the package reader (package.ts, signature.ts,
 * verify.ts), the service that applies a package between payments (service.ts) and the links
 * that bring one (the fleet link, the HTTP uplink, the local API and `codpos params`).
 *
 * A package travels as an envelope: the parameter set as UTF-8 JSON, base64'd, and the
 * operator's signature over exactly those bytes. Signing bytes rather than a re-serialised
 * object means no canonical JSON: the box checks what the operator signed, byte for byte.
 */
import type { ErrorCode } from '../../config/errors.js';
import type { RevokedCertificate, TerminalApplication } from '../../emv/kernel/index.js';

export const PARAMS_FORMAT = 'codpos-params/1';

/** Ed25519 (RFC 8032), or ECDSA P-256 with SHA-256 and the signature as r || s (IEEE P1363, 64 bytes, as JOSE's ES256). */
export type SignatureAlgorithm = 'Ed25519' | 'ES256';

/** What travels: on the broker, through the HTTP uplink, in a file a technician applies. */
export interface ParamsEnvelope {
  format: typeof PARAMS_FORMAT;
  /** base64 of the UTF-8 JSON of a ParameterSet. */
  payload: string;
  signature: {
    alg: SignatureAlgorithm;
    /** Which installed operator key (config params.operatorKeys[].keyId, or 'lab-operator'). */
    keyId: string;
    /** base64. */
    value: string;
  };
}

/** One payment application (AID) with its terminal action codes and limits (as config emv.applications[]). */
export type ApplicationParams = Pick<
  TerminalApplication,
  'aid' | 'partialSelection' | 'applicationVersion' | 'tacDenial' | 'tacOnline' | 'tacDefault' | 'floorLimit'
>;

/**
 * A certification authority public key as the schemes publish them: with its expiry and the
 * SHA-1 checksum over RID || index || modulus || exponent (EMV Book 2, 11.2.2), which the box
 * checks so a key mangled on the way is refused rather than failing every card under it.
 */
export interface CaKeyParams {
  rid: string;
  index: string;
  modulus: string;
  exponent: string;
  /** YYMMDD after which the key is not used. */
  expiry: string;
  /** 40 hex digits. */
  checksum: string;
}

/** One contactless combination, the shape of config emv.contactless.combinations[]. */
export type ContactlessCombinationParams = Record<string, unknown> & { aid: string; kernelId: 2 | 3 };

/** The signed content. Every part but `emv` and `caKeys` is optional: absent means "keep the configured one". */
export interface ParameterSet {
  format: typeof PARAMS_FORMAT;
  /** Grows with each package the operator issues; the box takes only a version above the running one. */
  version: number;
  /** ISO 8601, when the operator signed it. */
  issuedAt: string;
  description?: string;
  /** Who it is for; absent: any box that trusts the key. */
  audience?: { groups?: string[]; terminals?: string[] };
  emv: {
    terminalType?: string;
    capabilities?: string;
    additionalCapabilities?: string;
    applications: ApplicationParams[];
  };
  caKeys: CaKeyParams[];
  /** Issuer certificates the schemes revoked (EMV Book 2, 5.1.2): ODA fails for a card under one. */
  revocations: RevokedCertificate[];
  contactless?: { combinations: ContactlessCombinationParams[] };
  /** The back-end's tariff (runtime/workflow/tariff.ts reads it). */
  tariff?: unknown;
  /** Lines printed at the top of every receipt, in place of the merchant name alone. */
  receiptHeader?: string[];
}

/** A package that passed every check, ready to apply. */
export interface VerifiedPackage {
  envelope: ParamsEnvelope;
  set: ParameterSet;
  keyId: string;
}

export interface OperatorKey {
  keyId: string;
  /** A node:crypto public KeyObject (Ed25519 or EC P-256). */
  key: import('node:crypto').KeyObject;
}

export interface VerifyOptions {
  /** The keys the box trusts. */
  operatorKeys: readonly OperatorKey[];
  /** The running version; a package must be above it (absent: none running, any version). */
  runningVersion?: number;
  /** This box, for the package's audience. */
  terminalId: string;
  group?: string;
  /** For the CA keys' expiry: a key already expired is refused. */
  now: Date;
}

/**
 * verify.ts: `verifyParameterPackage(input: unknown, options: VerifyOptions): VerifiedPackage`,
 * where input is the envelope as parsed JSON, a JSON string or a Buffer. Throws a PosError with
 * a CODPOS_PARAMS_* code (FORMAT, SIGNATURE, VERSION, NOT_FOR_US, CA_KEY, CONTENT) whose message
 * names what was wrong.
 */
export type VerifyParameterPackage = (input: unknown, options: VerifyOptions) => VerifiedPackage;

export type ParamsSource = 'fleet' | 'uplink' | 'api' | 'start';

/** What terminal management is told, and what `codpos params apply` prints. */
export interface ParamsReport {
  /** UUIDv7: the consumer dedupes on it. */
  id: string;
  /** The package's version, when it could be read. */
  version: number | null;
  /** pending: checked, waiting for the payment in progress to end. */
  outcome: 'applied' | 'refused' | 'pending' | 'rolled-back';
  code?: ErrorCode;
  reason?: string;
  source: ParamsSource;
  /** The version running after this report. */
  runningVersion: number | null;
  terminal: string;
  at: string;
}

/** What GET /v1/params and `codpos params show` show. */
export interface RunningParams {
  /** null: the configured parameters, no package applied. */
  version: number | null;
  issuedAt?: string;
  description?: string;
  appliedAt?: string;
  source?: ParamsSource;
  previousVersion: number | null;
  /** A package waiting for the payment in progress to end. */
  pendingVersion: number | null;
  applications: Array<Pick<ApplicationParams, 'aid' | 'floorLimit' | 'tacDenial' | 'tacOnline' | 'tacDefault'>>;
  caKeys: Array<{ rid: string; index: string; expiry: string }>;
  revocations: number;
  contactless: boolean;
  tariffVersion?: string;
  receiptHeader?: string[];
}
