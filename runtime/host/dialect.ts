/**
 * The ISO 8583 dialect the host link speaks: a shipped dialect (`host.dialect`) with
 * the fields the config replaces or drops (`host.fieldOverrides`). A host that does
 * one field its own way is configured, not coded. A spec that cannot work (content
 * and encoding that do not fit, a maximum too long for its prefix) is a config error
 * naming the setting, found when the config is checked, not at the first payment.
 */
import type { Config } from '../../config/schema.js';
import { PosError } from '../../config/errors.js';
import { compileDialect, getDialect, withFields, type Dialect, type FieldSpec } from '../../emv/iso8583/index.js';

export function hostDialect(host: Config['host']): Dialect {
  let base: Dialect;
  try {
    base = getDialect(host.dialect);
  } catch (error) {
    throw configProblem(`host.dialect: ${(error as Error).message.replace(/^ISO 8583: /, '')}`, error);
  }
  const overrides = Object.entries(host.fieldOverrides);
  if (overrides.length === 0) return base;
  const fields: Record<number, FieldSpec | null> = {};
  for (const [number, spec] of overrides) fields[Number(number)] = spec === null ? null : stripUndefined(spec);
  const dialect = withFields(base, {
    name: `${base.name}+config`,
    description: `${base.name} with host.fieldOverrides ${overrides.map(([n]) => n).join(', ')}`,
    fields,
  });
  try {
    compileDialect(dialect);
  } catch (error) {
    // The codec names the field as "field 55" (or "field 127.3" inside a sub-bitmap).
    const named = error instanceof PosError ? error.details?.field : undefined;
    const field = typeof named === 'string' ? named.replace(/^field /, '') : '';
    const problem = (error as Error).message.replace(/^ISO 8583 dialect [^:]+: [^:]+: /, '');
    throw configProblem(`host.fieldOverrides.${field}: ${problem}`, error);
  }
  return dialect;
}

/** zod leaves absent optional keys out, but be explicit: FieldSpec has no undefined members. */
function stripUndefined(spec: NonNullable<Config['host']['fieldOverrides'][string]>): FieldSpec {
  return Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as unknown as FieldSpec;
}

function configProblem(line: string, cause: unknown): PosError {
  return new PosError('CODPOS_CONFIG_INVALID', line, { cause, details: { problems: [line] } });
}
