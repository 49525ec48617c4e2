/**
 * The terminal's default dialect: iso87b, except DE55 (ICC data), which is binary
 * with a 2-byte BCD length counting bytes — the form acquirers expect EMV data in.
 * It is made the way a host that differs in one field is meant to be met: by
 * configuration (withFields), not code.
 */
import { withFields, type Dialect } from '../spec.js';
import { iso87b } from './iso87b.js';

export const pos87b: Dialect = withFields(iso87b, {
  name: 'pos87b',
  description: 'iso87b with DE55 (ICC data) binary, 2-byte BCD length counting bytes: the terminal default',
  fields: {
    55: {
      name: 'ICC data',
      content: 'b',
      lengthType: 'LLL',
      maxLength: 999,
      encoding: 'binary',
      lengthEncoding: 'bcd',
    },
  },
});
