/** The shipped dialects by name. */
import { PosError } from '../../../config/errors.js';
import { ISO8583_ERRORS } from '../errors.js';
import type { Dialect } from '../spec.js';
import { iso87a } from './iso87a.js';
import { iso87b } from './iso87b.js';
import { iso93b } from './iso93b.js';
import { pos87b } from './pos87b.js';

export { iso87a, iso87b, iso93b, pos87b };

export const DIALECTS: Readonly<Record<string, Dialect>> = { pos87b, iso87b, iso87a, iso93b };

/** The terminal's default dialect name. */
export const DEFAULT_DIALECT = 'pos87b';

export function dialectNames(): string[] {
  return Object.keys(DIALECTS);
}

/** The shipped dialect `name`; PosError CODPOS_ISO8583_UNKNOWN_DIALECT naming the choices otherwise. */
export function getDialect(name: string): Dialect {
  const dialect = Object.hasOwn(DIALECTS, name) ? DIALECTS[name] : undefined;
  if (dialect === undefined) {
    throw new PosError(
      ISO8583_ERRORS.UNKNOWN_DIALECT,
      `ISO 8583: no dialect named ${JSON.stringify(name)}; choose one of ${dialectNames().join(', ')}`,
      { details: { dialect: name } },
    );
  }
  return dialect;
}
