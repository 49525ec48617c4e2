/**
 * docs/errors.md, rendered from the registry of error codes (config/error-codes.ts): one table
 * per area with each code's meaning, HTTP status and exit code. `npm run docs:errors` writes it;
 * test/config/error-codes.test.ts fails when the committed file is not what this renders.
 */
import { ERROR_CODES } from '../../config/error-codes.js';
import { ERROR_AREAS, areaOf, exitCodeOf, httpStatusOf, type ErrorArea, type ErrorCode } from '../../config/errors.js';

export const ERRORS_DOC_PATH = 'docs/errors.md';

export function renderErrorsDoc(): string {
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];
  const lines = [
    '# Error codes',
    '',
    '<!-- Generated from config/error-codes.ts by `npm run docs:errors`: edit the registry, not this file. -->',
    '',
    'Every error the runtime throws is a `PosError` with one of these codes (`CODPOS_<AREA>_<WHAT>`).',
    'The CLI exits with the exit code shown when such an error ends a command, and the local API',
    'answers it with the HTTP status shown, in `{ "error": { "code", "message" } }`. The message',
    'names what was wrong in this instance; the meaning below is what the code always means.',
    '',
    '| Area | Exit code | HTTP status (unless a code says otherwise) | About |',
    '| --- | --- | --- | --- |',
    ...(Object.keys(ERROR_AREAS) as ErrorArea[]).map(
      (area) =>
        `| ${area} | ${ERROR_AREAS[area].exitCode} | ${ERROR_AREAS[area].httpStatus} | ${ERROR_AREAS[area].about} |`,
    ),
  ];
  for (const area of Object.keys(ERROR_AREAS) as ErrorArea[]) {
    const ofArea = codes.filter((code) => areaOf(code) === area).sort();
    if (ofArea.length === 0) continue;
    lines.push('', `## ${area}`, '', '| Code | Meaning | HTTP | Exit |', '| --- | --- | --- | --- |');
    for (const code of ofArea)
      lines.push(
        `| \`${code}\` | ${ERROR_CODES[code].meaning.replaceAll('|', '\\|')} | ${httpStatusOf(code)} | ${exitCodeOf(code)} |`,
      );
  }
  return `${lines.join('\n')}\n`;
}
