/**
 * Who the local API lets in over TCP: the bearer token, the status page's read-only cookie, and
 * the PSP's notifications, which carry their own signature instead of the terminal's token.
 */
import t from 'tap';
import { PSP_NOTIFICATION_PATH, statusCookieValue, tcpAccess } from '../../../runtime/api/tcp-access.js';

const TOKEN = 's3cret-token';
const at = (path: string) => new URL(path, 'http://127.0.0.1:9');

t.test('a PSP notification is let in without the token: its signature is checked by the route', async (t) => {
  t.same(tcpAccess({ method: 'POST', headers: {} }, at(PSP_NOTIFICATION_PATH), TOKEN), { kind: 'allowed' });
  t.equal(PSP_NOTIFICATION_PATH, '/v1/psp/notifications', 'the path the QR routes serve');
});

t.test('only the POST of that one path: everything else still needs the token', async (t) => {
  t.match(tcpAccess({ method: 'GET', headers: {} }, at(PSP_NOTIFICATION_PATH), TOKEN), { kind: 'denied' });
  t.match(tcpAccess({ method: 'POST', headers: {} }, at('/v1/payments/qr'), TOKEN), { kind: 'denied' });
  t.match(tcpAccess({ method: 'POST', headers: {} }, at('/v1/psp/notifications/x'), TOKEN), { kind: 'denied' });
  t.same(tcpAccess({ method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } }, at('/v1/payments/qr'), TOKEN), {
    kind: 'allowed',
  });
});

t.test('the status cookie reads but does not take money', async (t) => {
  const cookie = `codpos_status=${statusCookieValue(TOKEN)}`;
  t.same(tcpAccess({ method: 'GET', headers: { cookie } }, at('/v1/status'), TOKEN), { kind: 'allowed' });
  t.match(tcpAccess({ method: 'POST', headers: { cookie } }, at('/v1/payments/qr'), TOKEN), { kind: 'denied' });
});
