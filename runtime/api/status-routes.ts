/**
 * The technician's status page and the one answer it draws (docs/status-page.md):
 *
 *   GET /status               the page (HTML; over TCP `?token=` once sets its cookie: tcp-access.ts)
 *   GET /status/app.js        its script
 *   GET /status/style.css     its stylesheet
 *   GET /v1/status/summary    devices, links, spool, open batch, courier, the day, last payments (status-summary.ts)
 *
 * The page's own files are strings in status-page/, so a build ships them and nothing comes
 * from the internet. Its Content-Security-Policy lets it load and connect to this daemon only.
 */
import type { ApiRoutes } from './server.js';
import { RawAnswer } from './raw-answer.js';
import { statusSummary, type SummaryInputs } from './status-summary.js';
import { STATUS_PAGE_HTML } from './status-page/page-html.js';
import { STATUS_PAGE_SCRIPT } from './status-page/script-js.js';
import { STATUS_PAGE_CSS } from './status-page/style-css.js';

const PAGE_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  // The page's first URL may carry the token: it is never sent on as a Referer.
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

export function statusRoutes(inputs: SummaryInputs): ApiRoutes {
  return {
    '/status': {
      GET: {
        summary: "the technician's status page (HTML)",
        handler: async () => new RawAnswer('text/html; charset=utf-8', STATUS_PAGE_HTML, PAGE_HEADERS),
      },
    },
    '/status/app.js': {
      GET: {
        summary: "the status page's script",
        handler: async () => new RawAnswer('text/javascript; charset=utf-8', STATUS_PAGE_SCRIPT, PAGE_HEADERS),
      },
    },
    '/status/style.css': {
      GET: {
        summary: "the status page's stylesheet",
        handler: async () => new RawAnswer('text/css; charset=utf-8', STATUS_PAGE_CSS, PAGE_HEADERS),
      },
    },
    '/v1/status/summary': {
      GET: {
        summary:
          'what the status page draws, in one answer: devices, links, spool, batch, courier, the day, last payments',
        handler: async () => statusSummary(inputs),
      },
    },
  };
}
