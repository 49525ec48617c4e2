/** `npm run docs:errors`: writes docs/errors.md from the registry of error codes. */
import { writeFileSync } from 'node:fs';
import { ERRORS_DOC_PATH, renderErrorsDoc } from './docs/errors-doc.js';

writeFileSync(ERRORS_DOC_PATH, renderErrorsDoc());
process.stdout.write(`wrote ${ERRORS_DOC_PATH}\n`);
