/**
 * The formats of a parameter package (docs/params.md): the envelope as it travels, and the
 * parameter set it carries, read strictly. Each refusal names the first faulty field, so the
 * operator learns from the report what to fix.
 */
import { z } from 'zod';
import { PosError } from '../../config/errors.js';
import { contactlessCombination, eachCombinationOnce, emvApplication } from '../../config/schema.js';
import { readTariff } from '../workflow/tariff.js';
import { PARAMS_FORMAT, type ParameterSet, type ParamsEnvelope } from './types.js';

/** A receipt printer of 48 columns (80 mm) prints a header line of at most this many characters. */
export const RECEIPT_HEADER_MAX_LINES = 6;
export const RECEIPT_HEADER_MAX_CHARS = 48;

const hex = (digits: number, what: string) =>
  z.string().regex(new RegExp(`^[0-9A-Fa-f]{${digits}}$`), { message: `expected ${digits} hex digits (${what})` });

/** Strict, padded base64: the bytes signed are exactly the bytes decoded. */
const base64 = z
  .string()
  .min(1)
  .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, { message: 'expected base64' });

const envelopeSchema = z.strictObject({
  format: z.literal(PARAMS_FORMAT, { error: `expected "${PARAMS_FORMAT}"` }),
  payload: base64,
  signature: z.strictObject({
    alg: z.enum(['Ed25519', 'ES256'], { error: 'expected Ed25519 or ES256' }),
    keyId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, {
      message: 'expected 1 to 64 letters, digits, dots, dashes or underscores',
    }),
    value: base64,
  }),
});

const caKey = z.strictObject({
  // Shapes only: ca-key.ts checks each key (CODPOS_PARAMS_CA_KEY) after the rest of the set.
  rid: z.string(),
  index: z.string(),
  modulus: z.string(),
  exponent: z.string(),
  expiry: z.string(),
  checksum: z.string(),
});

const revocation = z.strictObject({
  rid: hex(10, 'RID, 5 bytes'),
  index: hex(2, 'CA public key index, 1 byte'),
  // EMV Book 2 5.1.2: the issuer certificate serial number is 3 bytes.
  serial: hex(6, 'certificate serial number, 3 bytes'),
});

const nonEmptyNames = z.array(z.string().min(1).max(64)).min(1).max(10_000);

const parameterSetSchema = z.strictObject({
  format: z.literal(PARAMS_FORMAT, { error: `expected "${PARAMS_FORMAT}"` }),
  version: z.int({ error: 'expected a whole number' }).min(1).max(Number.MAX_SAFE_INTEGER),
  issuedAt: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date and time' }),
  description: z.string().max(200).optional(),
  audience: z.strictObject({ groups: nonEmptyNames.optional(), terminals: nonEmptyNames.optional() }).optional(),
  emv: z.strictObject({
    terminalType: z
      .string()
      .regex(/^[0-9]{2}$/, { message: 'expected 2 digits (tag 9F35)' })
      .optional(),
    capabilities: hex(6, 'tag 9F33').optional(),
    additionalCapabilities: hex(10, 'tag 9F40').optional(),
    applications: z
      .array(emvApplication)
      .min(1)
      .check((ctx) => {
        const seen = new Set<string>();
        ctx.value.forEach((app, i) => {
          const aid = app.aid.toUpperCase();
          if (seen.has(aid))
            ctx.issues.push({
              code: 'custom',
              path: [i, 'aid'],
              input: app.aid,
              message: `AID ${aid} is listed twice`,
            });
          seen.add(aid);
        });
      }),
  }),
  caKeys: z.array(caKey),
  revocations: z.array(revocation),
  contactless: z
    .strictObject({
      combinations: z.array(contactlessCombination).min(1).check(eachCombinationOnce),
    })
    .optional(),
  tariff: z.unknown().optional(),
  receiptHeader: z
    .array(
      z
        .string()
        .max(RECEIPT_HEADER_MAX_CHARS, {
          message: `a receipt line holds at most ${RECEIPT_HEADER_MAX_CHARS} characters`,
        })
        // A control character would drive the printer (ESC/POS), not print.
        .refine((line) => ![...line].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), {
          message: 'expected printable characters',
        }),
    )
    .max(RECEIPT_HEADER_MAX_LINES, { message: `at most ${RECEIPT_HEADER_MAX_LINES} lines` })
    .optional(),
});

/** `emv.applications[1].aid` from zod's path. */
function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('');
}

function firstProblem(error: z.ZodError): { path: string; message: string } {
  const issue = error.issues[0]!;
  const path = pathText(issue.path);
  return { path: path === '' ? '(the whole)' : path, message: issue.message };
}

/** The envelope, checked for shape only (the signature is signature.ts' business). CODPOS_PARAMS_FORMAT. */
export function readEnvelope(json: unknown): ParamsEnvelope {
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    const { path, message } = firstProblem(parsed.error);
    throw new PosError('CODPOS_PARAMS_FORMAT', `envelope ${path}: ${message}`, { details: { path } });
  }
  return parsed.data;
}

/**
 * The parameter set, strictly: CODPOS_PARAMS_FORMAT when it is not a codpos-params/1 set at all,
 * CODPOS_PARAMS_CONTENT naming the first faulty field otherwise (a tariff's fault names the tariff
 * field). CA keys are checked only for shape here: ca-key.ts checks their contents.
 */
export function readParameterSet(json: unknown): ParameterSet {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new PosError('CODPOS_PARAMS_FORMAT', 'the payload is not a JSON object');
  const format = (json as { format?: unknown }).format;
  if (format !== PARAMS_FORMAT)
    throw new PosError(
      'CODPOS_PARAMS_FORMAT',
      `format: expected "${PARAMS_FORMAT}", not ${format === undefined ? 'nothing' : JSON.stringify(format)}`,
      { details: { path: 'format' } },
    );
  const parsed = parameterSetSchema.safeParse(json);
  if (!parsed.success) {
    const { path, message } = firstProblem(parsed.error);
    throw new PosError('CODPOS_PARAMS_CONTENT', `${path}: ${message}`, { details: { path } });
  }
  const set = parsed.data;
  if (set.tariff !== undefined) {
    try {
      readTariff(set.tariff);
    } catch (error) {
      if (!(error instanceof PosError)) throw error;
      // readTariff's message starts with the tariff path (tariff.zones[0]...).
      throw new PosError('CODPOS_PARAMS_CONTENT', error.message, { cause: error, details: { path: 'tariff' } });
    }
  }
  return set as ParameterSet;
}
