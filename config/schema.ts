/**
 * The configuration schema: the one source of truth for every setting, its type
 * and its default. Types are derived from it (`Config`), never written twice.
 * Every object is strict: an unknown key is an error, so a typo cannot pass silently.
 * docs/config.md is the reference a technician reads.
 */
import { z } from 'zod';
import { isTimeZone, systemTimeZone } from './local-time.js';
import { describePrinterCodePages, isPrinterCodePage } from './printer-code-pages.js';

const integer = () => z.int({ error: (issue) => (issue.code === 'invalid_type' ? 'expected an integer' : undefined) });
const port = () => integer().min(1).max(65535);
const hex = (bytes?: number) =>
  z
    .string()
    .regex(/^([0-9A-Fa-f]{2})*$/, { message: 'expected hexadecimal digits in pairs' })
    .refine((s) => bytes === undefined || s.length === bytes * 2, { message: `expected ${bytes} bytes of hex` });

/** How the daemon reaches a device. `sim` runs the device's simulator in-process. */
const serialTransport = z.strictObject({
  kind: z.literal('serial'),
  path: z.string().min(1),
});
const hidTransport = z.strictObject({
  kind: z.literal('hid'),
  vendorId: integer().min(0).max(0xffff),
  productId: integer().min(0).max(0xffff),
  /** `pos` = HID POS usage page 0x8C reports; `keyboard` = boot keyboard wedge. */
  mode: z.enum(['pos', 'keyboard']).default('pos'),
});
const bleTransport = z.strictObject({
  kind: z.literal('ble'),
  /** Peripheral local name or address (aa:bb:cc:dd:ee:ff). */
  peripheral: z.string().min(1),
  /** Defaults to the Nordic UART service. */
  service: z.string().default('6e400001b5a3f393e0a9e50e24dcca9e'),
  writeCharacteristic: z.string().default('6e400002b5a3f393e0a9e50e24dcca9e'),
  notifyCharacteristic: z.string().default('6e400003b5a3f393e0a9e50e24dcca9e'),
  scanTimeoutMs: integer().positive().default(10000),
});
const simTransport = z.strictObject({ kind: z.literal('sim') });
const transport = z.discriminatedUnion('kind', [serialTransport, hidTransport, bleTransport, simTransport]);

const reconnect = z
  .strictObject({
    initialDelayMs: integer().positive().default(250),
    maxDelayMs: integer().positive().default(10000),
  })
  .prefault({});

const scanner = z
  .strictObject({
    enabled: z.boolean().default(true),
    transport: transport.default({ kind: 'sim' }),
    /** UART speed when the transport is serial. */
    baudRate: integer().positive().default(9600),
    /** Serial line mode: text the scanner puts before and after each code. */
    prefix: z.string().default(''),
    suffix: z.string().default('\r'),
    /** Whether the scanner sends AIM symbology identifiers (`]E0`, `]C0`, `]Q1`, ...). */
    aimIds: z.boolean().default(true),
    reconnect,
  })
  .prefault({});

const cardReader = z
  .strictObject({
    enabled: z.boolean().default(true),
    transport: transport.default({ kind: 'sim' }),
    /** UART speed when the transport is serial. */
    baudRate: integer().positive().default(115200),
    /** Virtual cards loaded into the simulated reader (profile names from emv/card/profiles). */
    simCards: z.array(z.string()).default([]),
    apduTimeoutMs: integer().positive().default(5000),
    reconnect,
  })
  .prefault({});

const pinpad = z
  .strictObject({
    enabled: z.boolean().default(true),
    transport: transport.default({ kind: 'sim' }),
    /** UART speed when the transport is serial. */
    baudRate: integer().positive().default(19200),
    dukpt: z.enum(['tdes', 'aes128', 'aes256']).default('tdes'),
    entryTimeoutMs: integer().positive().default(60000),
    /** Simulator only: the base derivation key and initial KSN it derives from. Never on a real box. */
    sim: z
      .strictObject({
        bdk: hex().default('0123456789ABCDEFFEDCBA9876543210'),
        /** 10 bytes (20 hex digits) for TDES DUKPT, 12 bytes (24 hex digits) for AES DUKPT. */
        ksn: hex().default('FFFF9876543210E00000'),
      })
      .prefault({}),
    reconnect,
  })
  .check((ctx) => {
    const wanted = ctx.value.dukpt === 'tdes' ? 20 : 24;
    if (ctx.value.sim.ksn.length !== wanted) {
      ctx.issues.push({
        code: 'custom',
        path: ['sim', 'ksn'],
        input: ctx.value.sim.ksn,
        message: `expected ${wanted / 2} bytes of hex for ${ctx.value.dukpt === 'tdes' ? 'TDES' : 'AES'} DUKPT`,
      });
    }
  })
  .prefault({});

const printer = z
  .strictObject({
    enabled: z.boolean().default(true),
    transport: transport.default({ kind: 'sim' }),
    /** UART speed when the transport is serial. */
    baudRate: integer().positive().default(115200),
    /** Paper width profile: 58 mm (384 dots, 32 columns) or 80 mm (576 dots, 48 columns). */
    profile: z.enum(['58mm', '80mm']).default('58mm'),
    /** ESC t page selected at each receipt's init; only pages the driver can encode text for. */
    codePage: integer()
      .refine(isPrinterCodePage, {
        message: `expected a code page the printer driver encodes: ${describePrinterCodePages()}`,
      })
      .default(0),
    statusPollMs: integer().positive().default(2000),
    reconnect,
  })
  .prefault({});

/**
 * One ISO 8583 field spec, as data (the shape of emv/iso8583/spec.ts' FieldSpec): how a
 * host that differs from the shipped dialect in a field is configured, not coded.
 * Whether the combination makes sense (e.g. `b` content as `bcd`) is checked when the
 * dialect is built, and reported against the same setting path.
 */
const isoFieldSpec = z.strictObject({
  name: z.string().min(1),
  content: z.enum(['n', 'z', 'xn', 'an', 'ans', 'b']),
  lengthType: z.enum(['fixed', 'LL', 'LLL', 'LLLL', 'LLLLLL']),
  maxLength: integer().positive(),
  encoding: z.enum(['bcd', 'ascii', 'ebcdic', 'binary', 'hex']),
  lengthEncoding: z.enum(['bcd', 'ascii', 'ebcdic', 'binary']).optional(),
  pad: z.enum(['left', 'right']).optional(),
});
const isoFieldNumber = z
  .string()
  .regex(/^(?:[2-9]|[1-9][0-9]|1[01][0-9]|12[0-8])$/, { message: 'expected a field number from 2 to 128' });

/** A SHA-256 hash in base64: 44 characters that decode to 32 bytes. */
const spkiPin = z
  .string()
  .refine((pin) => /^[A-Za-z0-9+/]{43}=$/.test(pin) && Buffer.from(pin, 'base64').length === 32, {
    message: 'expected the base64 SHA-256 of a SubjectPublicKeyInfo (44 characters ending in =)',
  });

/**
 * `host.tls` as an object: TLS 1.2+ to the acquirer with our own CA bundle. File settings are
 * relative to data.dir unless absolute; `credential:NAME` reads $CREDENTIALS_DIRECTORY/NAME.
 */
const hostTlsObject = z
  .strictObject({
    /** PEM bundle of the CAs the acquirer's certificate must chain to (the system store is never used). */
    caFile: z.string().min(1),
    /** Client certificate and its key, for mutual TLS: both or neither. */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** SNI and the name the certificate must carry; default host.address. */
    serverName: z.string().min(1).optional(),
    /** When set, the leaf certificate's public key must hash to one of these. */
    pinSha256: z.array(spkiPin).min(1).optional(),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
  })
  .refine((tls) => (tls.certFile === undefined) === (tls.keyFile === undefined), {
    message: 'certFile and keyFile go together (mutual TLS needs both, plain TLS neither)',
    path: ['keyFile'],
  });
export type HostTls = z.output<typeof hostTlsObject>;

/**
 * `false` (plain TCP) or the TLS object. Parsed by hand rather than as a zod union, so a bad
 * object is reported key by key (a union only says "invalid input"), and `true` says what to set.
 */
const hostTlsSetting = z.custom<boolean | z.input<typeof hostTlsObject>>().transform((value, ctx): false | HostTls => {
  if (value === false || value === undefined) return false;
  if (value === true) {
    ctx.addIssue({
      code: 'custom',
      input: value,
      message:
        "true alone is not accepted: set an object with at least caFile (the PEM CA bundle the acquirer's certificate chains to), so the link never trusts the system store silently",
    });
    return z.NEVER;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    // invalid_type, so a CODPOS_HOST__TLS value given as text is read again as JSON.
    ctx.addIssue({
      code: 'invalid_type',
      expected: 'object',
      input: value,
      message: 'expected false or an object with caFile',
    });
    return z.NEVER;
  }
  const parsed = hostTlsObject.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data;
  // A refinement of the whole object would print the object back: its message says enough.
  for (const issue of parsed.error.issues)
    ctx.addIssue(issue.code === 'custom' ? { ...issue, input: undefined } : { ...issue });
  return z.NEVER;
});

const host = z
  .strictObject({
    /** `sim` starts the acquirer host simulator on loopback. */
    mode: z.enum(['sim', 'tcp']).default('sim'),
    address: z.string().default('127.0.0.1'),
    port: port().default(8583),
    dialect: z.string().default('pos87b'),
    /** Field number -> spec replacing the dialect's, or null to drop the field. */
    fieldOverrides: z.record(isoFieldNumber, isoFieldSpec.nullable()).default({}),
    framing: z.enum(['len2', 'len2-tpdu', 'bcd2', 'ascii4']).default('len2-tpdu'),
    /** 5-byte TPDU as hex: 60 + destination NII + source NII. */
    tpdu: hex(5).default('6000010000'),
    lengthIncludesTpdu: z.boolean().default(true),
    connectTimeoutMs: integer().positive().default(5000),
    responseTimeoutMs: integer().positive().default(30000),
    /** DE11 of a 0400: `new` (next STAN, DE90 names the original) or the `original` request's STAN. */
    reversalStan: z.enum(['new', 'original']).default('new'),
    /**
     * How the card's final chip data (the TC or AAC of the second GENERATE AC, 9F5B) reaches
     * the acquirer after an online approval: `advice`, a 0220 completion advice per payment;
     * `batch-upload`, only in the 0320 batch upload at settlement.
     */
    tcDelivery: z.enum(['advice', 'batch-upload']).default('advice'),
    /**
     * A partial approval (response 10, less approved than asked): `accept` books the approved
     * amount (the rest is still due from the consignee); `reverse` reverses it at once and the
     * payment is declined, for a terminal that does not take partial approvals.
     */
    partialApprovals: z.enum(['accept', 'reverse']).default('accept'),
    /** `false`: plain TCP. An object: TLS (see hostTlsObject). */
    tls: hostTlsSetting.default(false),
  })
  .prefault({});

const uplink = z
  .strictObject({
    /** `sim` starts the back-end simulator on loopback. */
    mode: z.enum(['sim', 'http']).default('sim'),
    url: z.string().default('http://127.0.0.1:8080/api/v1'),
    batchSize: integer().positive().default(100),
    intervalMs: integer().positive().default(5000),
    token: z.string().default(''),
    /** While records wait for a retry after a failed batch: how often to ask GET {url}/health whether the back-end is back. */
    probeIntervalMs: integer().positive().default(1000),
    /** How long a probe may take (it is one small GET: a slow answer counts as no answer). */
    probeTimeoutMs: integer().positive().default(2000),
    /** How often to look for a change of the box's network addresses (the link coming up): it probes at once. 0: off. */
    networkWatchMs: integer().min(0).default(1000),
  })
  .prefault({});

/**
 * `psp`: the payment service provider for QR payments (runtime/psp/, docs/psp.md). Absent: no
 * QR payments. Files are relative to data.dir unless absolute; `credential:NAME` reads
 * $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=), as for host.tls.
 */
const pspSigning = z.discriminatedUnion('scheme', [
  z
    .strictObject({
      scheme: z.literal('hmac-sha256'),
      /**
       * The shared secret inline (masked in `config show`), or in a file (mode 0600) or credential.
       * Its length (16 bytes at least) is checked when it is read (runtime/psp/options.ts): a
       * schema check here would print the value back in its error.
       */
      secret: z.string().optional(),
      secretFile: z.string().min(1).optional(),
    })
    .check((ctx) => {
      const signing = ctx.value;
      if ((signing.secret === undefined) !== (signing.secretFile === undefined)) return;
      // No input in the issue: the loader prints an issue's input, and this one holds the secret.
      ctx.issues.push({
        code: 'custom',
        message: 'set exactly one of secret and secretFile',
        path: ['secret'],
        input: undefined,
      });
    }),
  z.strictObject({
    scheme: z.literal('ecdsa-p256'),
    /** The terminal's EC P-256 private key (PEM), mode 0600 or a credential. */
    privateKeyFile: z.string().min(1),
    /** The PSP's EC P-256 public key (PEM): answers and notifications are checked with it. */
    pspPublicKeyFile: z.string().min(1),
  }),
]);

const psp = z
  .strictObject({
    url: z.string().refine((url) => /^https?:\/\/[^/]/.test(url) && URL.canParse(url), {
      message: 'expected an http:// or https:// URL',
    }),
    merchantId: z.string().min(1),
    terminalId: z.string().min(1),
    signing: pspSigning,
    timeoutMs: integer().positive().default(10000),
    /** For an https url: the PEM CAs the PSP's certificate must chain to; absent: the system store. */
    caFile: z.string().min(1).optional(),
    notifications: z
      .strictObject({
        /** Register the daemon's notification URL with each merchant-presented order. */
        enabled: z.boolean().default(false),
      })
      .prefault({}),
  })
  .optional();

const offline = z
  .strictObject({
    /** Amounts in minor units of the terminal currency. */
    maxAmountPerTransaction: integer().min(0).default(50000),
    maxTotalAmount: integer().min(0).default(200000),
    maxRecords: integer().positive().default(100000),
    maxAgeHours: integer().positive().default(72),
  })
  .prefault({});

const spool = z
  .strictObject({
    /** SQLite database file, relative to data.dir unless absolute. */
    file: z.string().default('spool.db'),
    /** 32-byte AES-256-GCM data key for sealing PAN and pre-authorization data; mode 0600. */
    keyFile: z.string().default('vault.key'),
    maxDiskMb: integer().positive().default(512),
    retentionDays: integer().positive().default(45),
  })
  .prefault({});

const workflow = z
  .strictObject({
    /**
     * The operator's own waybill number format, a regular expression the whole number must
     * match; empty: only UPU S10 numbers (checked by their check digit) are taken.
     */
    waybillPattern: z
      .string()
      .default('')
      .refine(
        (pattern) => {
          try {
            new RegExp(pattern);
            return true;
          } catch {
            return false;
          }
        },
        { message: 'expected a regular expression' },
      ),
  })
  .prefault({});

const hexDigits = (digits: number, what: string) =>
  z.string().regex(new RegExp(`^[0-9A-Fa-f]{${digits}}$`), { message: `expected ${digits} hex digits (${what})` });

/** One payment application (AID) the terminal accepts, with its terminal action codes. */
export const emvApplication = z.strictObject({
  /** 5 to 16 bytes of hex (tag 9F06). */
  aid: z.string().regex(/^([0-9A-Fa-f]{2}){5,16}$/, { message: 'expected an AID of 5 to 16 bytes in hex' }),
  /** A card AID longer than this one still matches (EMV Book 1 partial selection). */
  partialSelection: z.boolean().default(true),
  /** Tag 9F09. */
  applicationVersion: hexDigits(4, 'tag 9F09'),
  tacDenial: hexDigits(10, 'terminal action code, 5 bytes'),
  tacOnline: hexDigits(10, 'terminal action code, 5 bytes'),
  tacDefault: hexDigits(10, 'terminal action code, 5 bytes'),
  /** Minor units; 0 sends every chip payment online. */
  floorLimit: integer().min(0).default(0),
});

/** Minor units; absent: no such limit for the combination. */
const contactlessLimit = () => integer().min(0).max(999_999_999_999).optional();

/**
 * One contactless combination (EMV Contactless Book B 3.1.1): an AID with the kernel that runs
 * it and the reader limits Entry Point's pre-processing applies. Kernel 3 (Visa-style, Book C-3)
 * reads the TTQ; kernel 2 (Mastercard-style, Book C-2) reads the TACs, the application version,
 * the mag-stripe mode setting and the relay resistance timings.
 */
export const contactlessCombination = z
  .strictObject({
    /** 5 to 16 bytes of hex. */
    aid: z.string().regex(/^([0-9A-Fa-f]{2}){5,16}$/, { message: 'expected an AID of 5 to 16 bytes in hex' }),
    /** Book B kernel identifier: 2 Mastercard-style, 3 Visa-style (the kernels the terminal has). */
    kernelId: z.union([z.literal(2), z.literal(3)], {
      error: 'expected kernel 2 (Mastercard-style) or 3 (Visa-style)',
    }),
    /** At or above it the tap is not allowed: the card is asked for by its chip. */
    transactionLimit: contactlessLimit(),
    /** Above it the tap goes online. */
    floorLimit: contactlessLimit(),
    /** At or above it a cardholder verification is required. */
    cvmRequiredLimit: contactlessLimit(),
    /** An amount of one unit of currency asks the card for an online status check. */
    statusCheck: z.boolean().default(false),
    /** An amount of 0 goes online rather than being refused. */
    zeroAmountAllowed: z.boolean().default(true),
    /** Kernel 3: Terminal Transaction Qualifiers, tag 9F66 (4 bytes). */
    ttq: hexDigits(8, 'tag 9F66, 4 bytes').optional(),
    /** Kernel 2: terminal action codes, 5 bytes each. */
    tacDenial: hexDigits(10, 'terminal action code, 5 bytes').optional(),
    tacOnline: hexDigits(10, 'terminal action code, 5 bytes').optional(),
    tacDefault: hexDigits(10, 'terminal action code, 5 bytes').optional(),
    /** Kernel 2: tag 9F09. */
    applicationVersion: hexDigits(4, 'tag 9F09').optional(),
    /** Kernel 2: a card that offers only mag-stripe mode is taken (else refused). */
    magStripeMode: z.boolean().default(false),
    /** Kernel 2: the relay resistance protocol's timings, in units of 100 microseconds (Book C-2). */
    relayResistance: z
      .strictObject({
        minGracePeriod: integer().min(0).max(0xffff),
        maxGracePeriod: integer().min(0).max(0xffff),
        accuracyThreshold: integer().min(0).max(0xffff),
        /** Percent. */
        mismatchThreshold: integer().min(0).max(100),
      })
      .optional(),
  })
  .check((ctx) => {
    const c = ctx.value;
    const problem = (path: string, message: string) =>
      ctx.issues.push({ code: 'custom', path: [path], input: c[path as keyof typeof c], message });
    const kernel2Only = ['tacDenial', 'tacOnline', 'tacDefault', 'applicationVersion', 'relayResistance'] as const;
    if (c.kernelId === 3) {
      if (c.ttq === undefined)
        problem('ttq', 'kernel 3 needs its Terminal Transaction Qualifiers (9F66, 8 hex digits)');
      for (const key of kernel2Only)
        if (c[key] !== undefined) problem(key, `is a kernel 2 setting: kernel 3 does not read it`);
      if (c.magStripeMode) problem('magStripeMode', 'is a kernel 2 setting: kernel 3 does not read it');
    } else {
      if (c.ttq !== undefined) problem('ttq', 'is a kernel 3 setting: kernel 2 does not read it');
      for (const key of ['tacDenial', 'tacOnline', 'tacDefault', 'applicationVersion'] as const)
        if (c[key] === undefined) problem(key, 'kernel 2 needs it (the scheme publishes its value)');
    }
    const rr = c.relayResistance;
    if (rr && rr.minGracePeriod > rr.maxGracePeriod)
      problem('relayResistance', 'minGracePeriod must not exceed maxGracePeriod');
    if (
      c.transactionLimit !== undefined &&
      c.cvmRequiredLimit !== undefined &&
      c.cvmRequiredLimit >= c.transactionLimit
    )
      problem(
        'cvmRequiredLimit',
        `must be below transactionLimit (${c.transactionLimit}): a tap at or above the transaction limit is refused, so no tap would ever ask for a CVM`,
      );
    if (c.transactionLimit !== undefined && c.floorLimit !== undefined && c.floorLimit >= c.transactionLimit)
      problem(
        'floorLimit',
        `must be below transactionLimit (${c.transactionLimit}): every tap allowed would be under it and approved offline`,
      );
  });

/**
 * Refuses an AID listed twice with the same kernel: Entry Point would take the first and the
 * second's limits would silently never apply. Shared by the config and parameter packages.
 */
export function eachCombinationOnce(ctx: z.core.ParsePayload<ReadonlyArray<{ aid: string; kernelId: number }>>): void {
  const seen = new Set<string>();
  ctx.value.forEach((c, i) => {
    const key = `${c.aid.toUpperCase()}/${c.kernelId}`;
    if (seen.has(key))
      ctx.issues.push({
        code: 'custom',
        path: [i, 'aid'],
        input: c.aid,
        message: `listed twice: AID ${c.aid} with kernel ${c.kernelId}`,
      });
    seen.add(key);
  });
}

/**
 * `emv.contactless`: taps (EMV Contactless, emv/contactless/). The defaults are the lab's: the
 * Visa-style and Mastercard-style virtual cards' AIDs with their kernels.
 */
const contactless = z
  .strictObject({
    enabled: z.boolean().default(true),
    combinations: z
      .array(contactlessCombination)
      .min(1)
      .default([
        {
          aid: 'A0000000031010',
          kernelId: 3,
          transactionLimit: 50000,
          floorLimit: 0,
          cvmRequiredLimit: 5000,
          statusCheck: false,
          zeroAmountAllowed: true,
          // qVSDC, contact chip, online PIN, signature; consumer device CVM.
          ttq: '36004000',
          magStripeMode: false,
        },
        {
          aid: 'A0000000041010',
          kernelId: 2,
          transactionLimit: 50000,
          floorLimit: 0,
          cvmRequiredLimit: 5000,
          statusCheck: false,
          zeroAmountAllowed: true,
          tacDenial: '0000000000',
          tacOnline: 'F45084800C',
          tacDefault: 'F45084800C',
          applicationVersion: '0002',
          magStripeMode: false,
          relayResistance: { minGracePeriod: 20, maxGracePeriod: 50, accuracyThreshold: 300, mismatchThreshold: 50 },
        },
      ])
      .check(eachCombinationOnce),
    /** The reader: how long one poll of the field waits for a card before the flow looks again. */
    pollTimeoutMs: integer().positive().default(1000),
    /** How many times one payment asks for the card to be presented again (try again, card removed too early). */
    maxTryAgain: integer().min(0).max(10).default(3),
  })
  .prefault({});

const emv = z
  .strictObject({
    /** Tag 9F35: 22 = attended, offline with online capability, merchant operated. */
    terminalType: z
      .string()
      .regex(/^[0-9]{2}$/, { message: 'expected 2 digits (tag 9F35)' })
      .default('22'),
    /** Tag 9F33: IC + magstripe; online PIN, signature, no CVM; SDA, DDA, CDA. */
    capabilities: hexDigits(6, 'tag 9F33').default('E068C8'),
    /** Tag 9F40. */
    additionalCapabilities: hexDigits(10, 'tag 9F40').default('6000F0A001'),
    applications: z
      .array(emvApplication)
      .min(1)
      .default([
        {
          aid: 'A0000000031010',
          partialSelection: true,
          applicationVersion: '0096',
          tacDenial: '0010000000',
          tacOnline: 'DC4004F800',
          tacDefault: 'DC4000A800',
          floorLimit: 0,
        },
        {
          aid: 'A0000000041010',
          partialSelection: false,
          applicationVersion: '0002',
          tacDenial: '0400000000',
          tacOnline: 'FC50BCF800',
          tacDefault: 'FC50BCA000',
          floorLimit: 0,
        },
      ]),
    /** JSON file of the certification authority public keys; empty: the test keys shipped for the lab and the virtual cards. */
    caKeysFile: z.string().default(''),
    /** How long a payment waits for the card to be inserted, swiped or tapped. */
    cardWaitMs: integer().positive().default(60000),
    contactless,
  })
  .prefault({});

const payments = z
  .strictObject({
    /**
     * The largest card payment taken, minor units of terminal.currency; a larger one is refused
     * before the card is asked for. At most 999999999999, the 12 digits of DE4.
     */
    maxAmount: integer().min(1).max(999_999_999_999).default(999_999_999_999),
    /** How long a payment's answer waits for its receipt to print; past it, the receipt is held for a reprint. */
    receiptWaitMs: integer().min(0).default(5000),
  })
  .prefault({});

const api = z
  .strictObject({
    socket: z.string().default('codposd.sock'),
    /** Optional loopback TCP listener for the screen app; 0 disables it. */
    tcpPort: integer().min(0).max(65535).default(0),
    bearerToken: z.string().default(''),
  })
  .prefault({});

/** The IFD serial number when none is configured: the terminal id, anything not a letter or digit made 0 (9F1E is an8). */
export function ifdSerialFromTerminalId(id: string): string {
  return id.replace(/[^0-9A-Za-z]/g, '0');
}

const terminal = z
  .strictObject({
    /** DE41: card acceptor terminal id, 8 characters. */
    id: z
      .string()
      .regex(/^[ -~]{8}$/, { message: 'expected 8 printable characters' })
      .default('CODPOS01'),
    /** DE42: card acceptor id code, 15 characters. */
    merchantId: z
      .string()
      .regex(/^[ -~]{15}$/, { message: 'expected 15 printable characters' })
      .default('000000000000001'),
    merchantName: z.string().default('CODPOS COURIER'),
    /** ISO 4217 numeric currency code (DE49). */
    currency: z
      .string()
      .regex(/^[0-9]{3}$/, { message: 'expected 3 digits (ISO 4217 numeric)' })
      .default('840'),
    /** ISO 3166 numeric country code (tag 9F1A). */
    country: z
      .string()
      .regex(/^[0-9]{3}$/, { message: 'expected 3 digits (ISO 3166 numeric)' })
      .default('840'),
    /**
     * IANA time zone of the box (e.g. `Asia/Tokyo`): the transaction date and time on the card
     * (9A, 9F21) and to the acquirer (DE12, DE13), and the expiry checks, are its wall clock.
     * Default: the operating system's zone, read when the config is loaded.
     */
    timeZone: z
      .string()
      .refine(isTimeZone, { message: 'expected an IANA time zone name such as Europe/Berlin or Asia/Tokyo' })
      .default(() => systemTimeZone()),
    /** ISO 18245 merchant category code: tag 9F15 and DE18. 4215 = courier services (air and ground) and freight forwarders. */
    merchantCategoryCode: z
      .string()
      .regex(/^[0-9]{4}$/, { message: 'expected 4 digits (ISO 18245 merchant category code)' })
      .default('4215'),
    /** Tag 9F1E, the interface device serial number: 8 letters or digits. Default: from `terminal.id`. */
    ifdSerialNumber: z
      .string()
      .regex(/^[0-9A-Za-z]{8}$/, { message: 'expected 8 letters or digits (tag 9F1E)' })
      .optional(),
  })
  // The effective serial is filled in here, so `config show` prints what the card gets.
  .transform((t) => ({ ...t, ifdSerialNumber: t.ifdSerialNumber ?? ifdSerialFromTerminalId(t.id) }))
  .prefault({});

/**
 * `qr`: QR payments through the payment service provider (runtime/payment/qr-service.ts,
 * docs/payment.md "QR payments"); the PSP link itself is the `psp` section. Absent: no QR
 * payments. `merchant` is what the terminal's merchant-presented code says (EMVCo MPM).
 */
const qrMerchantAccount = z.strictObject({
  /** The template's data object ID, 26 to 51 (EMVCo MPM merchant account information templates). */
  id: z.string().regex(/^(2[6-9]|[34][0-9]|5[01])$/, { message: 'expected a template ID from 26 to 51' }),
  /** Sub-ID 00: the reverse domain name or AID of the scheme or wallet whose account this is. */
  globallyUniqueIdentifier: z.string().min(1).max(32),
  /** The template's other sub-IDs (01-99) and their values, as the scheme or wallet defines them. */
  fields: z
    .record(
      z.string().regex(/^(0[1-9]|[1-9][0-9])$/, { message: 'expected a sub-ID from 01 to 99' }),
      z.string().min(1).max(99),
    )
    .default({}),
});

const qr = z
  .strictObject({
    merchant: z.strictObject({
      /** Tag 59 (at most 25 characters). */
      name: z.string().min(1).max(25),
      /** Tag 60 (at most 15 characters). */
      city: z.string().min(1).max(15),
      /** Tag 58: ISO 3166-1 alpha-2. */
      country: z.string().regex(/^[A-Z]{2}$/, { message: 'expected 2 capital letters (ISO 3166-1 alpha-2)' }),
      /** Tag 52: ISO 18245; default terminal.merchantCategoryCode. */
      mcc: z
        .string()
        .regex(/^[0-9]{4}$/, { message: 'expected 4 digits (ISO 18245 merchant category code)' })
        .optional(),
      /** Tags 26-51: the accounts a wallet may pay into; at least one. */
      accounts: z.array(qrMerchantAccount).min(1),
    }),
    /** How long the courier waits for the wallet before the order is cancelled at the PSP. */
    waitMs: integer().positive().default(120_000),
    /** How often the order is queried while waiting (a notification ends the wait sooner). */
    queryIntervalMs: integer().positive().default(2000),
    /** Resolving an unknown payment by query: the first retry's delay, doubled up to maxMs. */
    resolver: z
      .strictObject({
        initialMs: integer().positive().default(5000),
        maxMs: integer().positive().default(300_000),
      })
      .prefault({}),
    /** The URL the PSP posts notifications to (it reaches POST /v1/psp/notifications); used when psp.notifications.enabled. */
    notifyUrl: z.string().url().optional(),
    /** Run the PSP simulator inside the daemon and pay through it (`codposd --sim` sets it): no real money moves. */
    pspSimulator: z.boolean().default(false),
  })
  .optional();

/**
 * `params`: signed parameter packages (runtime/params/, docs/params.md): EMV terminal
 * parameters, AIDs with their TACs and floor limits, CA public keys, the revocation list,
 * contactless limits, the tariff and the receipt header, pushed by the operator's terminal
 * management. A package is applied only when signed by one of these keys. Files are relative to
 * data.dir unless absolute; `credential:NAME` reads $CREDENTIALS_DIRECTORY/NAME.
 */
const params = z
  .strictObject({
    /** The operator's public keys (PEM, Ed25519 or EC P-256), each with the key id a package names. */
    operatorKeys: z
      .array(
        z.strictObject({
          keyId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, {
            message: 'expected 1 to 64 letters, digits, dots, dashes or underscores',
          }),
          publicKeyFile: z.string().min(1),
        }),
      )
      .default([]),
    /**
     * Also trust the lab operator key (runtime/params/lab-operator-key.ts: derived from a public
     * seed, so anyone can sign with it). For the simulator and tests only: config/sim.json sets it.
     */
    trustLabKey: z.boolean().default(false),
  })
  .prefault({});

/**
 * `fleet`: the fleet link to the operator's MQTT broker (runtime/fleet/, docs/fleet.md): health
 * and business events out, task updates, parameter packages and commands in. Absent or
 * enabled false: no fleet link (the HTTP uplink carries everything, as before).
 */
const fleet = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** mqtt://host:port or mqtts://host:port (TLS). */
    url: z.string().refine((url) => /^mqtts?:\/\/[^/]/.test(url) && URL.canParse(url), {
      message: 'expected an mqtt:// or mqtts:// URL',
    }),
    /** The fleet group the terminal belongs to (its group topics: docs/fleet.md). */
    group: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, {
      message: 'expected 1 to 64 letters, digits, dots, dashes or underscores (it is part of a topic)',
    }),
    /** The first levels of every topic. */
    topicPrefix: z
      .string()
      .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, { message: 'expected topic levels without wildcards' })
      .default('codpos/v1'),
    /** The terminal's broker user name; absent: terminal.id. */
    username: z.string().min(1).optional(),
    /** The terminal's broker password in a file (mode 0600) or credential; absent: no password (a client certificate, say). */
    passwordFile: z.string().min(1).optional(),
    /** For mqtts: the PEM CAs the broker's certificate must chain to; absent: the system store. */
    caFile: z.string().min(1).optional(),
    /** For mqtts: the terminal's client certificate and key (PEM), for brokers that authenticate by certificate. */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    keepaliveSeconds: integer().min(5).max(65535).default(60),
    /** How long the broker keeps the terminal's session (subscriptions, queued QoS 1 messages) while it is away. */
    sessionExpirySeconds: integer()
      .min(0)
      .default(7 * 24 * 3600),
    /** Health is published at this interval, and at once when a device, link or spool depth changes. */
    healthIntervalMs: integer().positive().default(60000),
    /** How long one connection attempt may take. */
    connectTimeoutMs: integer().positive().default(10000),
    /** First and longest wait between reconnection attempts (doubling, with jitter). */
    reconnectMinMs: integer().positive().default(1000),
    reconnectMaxMs: integer().positive().default(60000),
  })
  .refine((f) => (f.certFile === undefined) === (f.keyFile === undefined), {
    message: 'set both certFile and keyFile, or neither',
    path: ['certFile'],
  })
  .refine((f) => f.reconnectMinMs <= f.reconnectMaxMs, {
    message: 'reconnectMinMs must not exceed reconnectMaxMs',
    path: ['reconnectMinMs'],
  })
  .optional();

export const configSchema = z.strictObject({
  terminal,
  data: z
    .strictObject({
      /** Where the spool, keys and the local API socket live. */
      dir: z.string().default('./var'),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
  devices: z.strictObject({ scanner, cardReader, pinpad, printer }).prefault({}),
  host,
  uplink,
  psp,
  offline,
  emv,
  payments,
  workflow,
  spool,
  api,
  qr,
  params,
  fleet,
});

/** The validated configuration with every default filled in. */
export type Config = z.infer<typeof configSchema>;
/** What a config file may contain: every key optional. */
export type ConfigInput = z.input<typeof configSchema>;
/** `host.tcDelivery`: where the final chip data of an online approval goes (0220 completion advice, or the 0320 batch upload). */
export type TcDelivery = Config['host']['tcDelivery'];
