/**
 * Who may use the local API over loopback TCP (`api.tcpPort`). The Unix socket needs no
 * token: its file mode decides. Over TCP a request is let in by either
 *
 * - `Authorization: Bearer <api.bearerToken>` (the screen app, `curl`), for any method; or
 * - the status page's cookie, for GET only: a browser cannot set that header on a link or on
 *   an EventSource, so `GET /status?token=<api.bearerToken>` answers 303 to `/status` with an
 *   HttpOnly, SameSite=Strict session cookie that the page's fetches and its event stream then
 *   carry. The cookie holds an HMAC of the token, not the token, and only reads: whatever
 *   changes state (a payment, a void, settlement) still needs the header, so a page that
 *   leaks its cookie cannot take money.
 *
 * - `POST /v1/psp/notifications` needs neither: the payment service provider cannot hold the
 *   terminal's token, and the notification carries its own proof, the PSP's signature over the
 *   exact bytes with a fresh timestamp and an unseen nonce, which the route checks before it
 *   believes anything in it (runtime/psp/client.ts verifyNotification).
 *
 * Every comparison hashes both sides first and compares the digests in constant time, so
 * neither the content nor the length of a wrong guess shows in the answer's timing.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const STATUS_PAGE_PATH = '/status';
export const STATUS_COOKIE_NAME = 'codpos_status';
/** The PSP's notifications: authenticated by their signature, not by the API token. */
export const PSP_NOTIFICATION_PATH = '/v1/psp/notifications';

export type TcpAccess =
  | { kind: 'allowed' }
  /** A browser gave the right token on the page's URL: set the cookie and send it to the page without the token. */
  | { kind: 'login'; setCookie: string; location: string }
  | { kind: 'denied'; reason: string };

export function tcpAccess(
  request: { method?: string | undefined; headers: IncomingHttpHeaders },
  url: URL,
  bearerToken: string,
): TcpAccess {
  if (url.pathname === PSP_NOTIFICATION_PATH && request.method === 'POST') return { kind: 'allowed' };
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    return sameSecret(authorization, `Bearer ${bearerToken}`)
      ? { kind: 'allowed' }
      : { kind: 'denied', reason: 'the Authorization header does not carry api.bearerToken' };
  }
  const pageToken = url.searchParams.get('token');
  if (url.pathname === STATUS_PAGE_PATH && pageToken !== null) {
    if (request.method !== 'GET' || !sameSecret(pageToken, bearerToken))
      return { kind: 'denied', reason: `${STATUS_PAGE_PATH}?token= does not carry api.bearerToken` };
    return {
      kind: 'login',
      setCookie: `${STATUS_COOKIE_NAME}=${statusCookieValue(bearerToken)}; HttpOnly; SameSite=Strict; Path=/`,
      location: STATUS_PAGE_PATH,
    };
  }
  const cookie = cookieNamed(request.headers.cookie, STATUS_COOKIE_NAME);
  if (cookie !== undefined) {
    if (!sameSecret(cookie, statusCookieValue(bearerToken)))
      return { kind: 'denied', reason: "the status page cookie is not this daemon's (open /status?token=... again)" };
    if (request.method !== 'GET')
      return {
        kind: 'denied',
        reason: 'the status page cookie only reads: this request needs Authorization: Bearer <api.bearerToken>',
      };
    return { kind: 'allowed' };
  }
  return {
    kind: 'denied',
    reason: `this API needs Authorization: Bearer <api.bearerToken> over TCP (a browser: open ${STATUS_PAGE_PATH}?token=<api.bearerToken>)`,
  };
}

/** What the cookie holds: derived from the token so the token itself never sits in the browser's cookie store. */
export function statusCookieValue(bearerToken: string): string {
  return createHmac('sha256', bearerToken).update('codpos status page cookie v1').digest('base64url');
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The value of cookie `name` in a Cookie header (`a=1; b=2`), if there. */
function cookieNamed(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}
