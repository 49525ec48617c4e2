/**
 * The status page's script (GET /status/app.js), plain browser JavaScript in a string so
 * tsc ships it in dist/ and no bundler or CDN is needed. It draws GET /v1/status/summary,
 * and follows GET /v1/events: each event is listed and the summary read again (coalesced,
 * so a burst of events costs one read). EventSource reconnects by itself with Last-Event-ID.
 * Text goes in with textContent only: nothing the daemon says is parsed as HTML.
 * `body[data-summary-at]` and `body[data-stream]` tell a test (and a curious technician)
 * what the page last drew and whether the stream is live.
 */
export const STATUS_PAGE_SCRIPT = `'use strict';
(() => {
  // EventSource hands named events only to listeners of that name: these are the bus's types (docs/api.md).
  const EVENT_TYPES = ${JSON.stringify([
    'device.state',
    'card.inserted',
    'card.removed',
    'card.swiped',
    'card.chip-mute',
    'scanner.scan',
    'printer.state',
    'payment.started',
    'payment.waiting-card',
    'payment.tap-detected',
    'pin.requested',
    'payment.chip-failed',
    'payment.use-chip',
    'payment.qr',
    'payment.qr.refund-owed',
    'payment.approved',
    'payment.declined',
    'payment.cancelled',
    'payment.failed',
    'payment.check-id',
    'payment.voided',
    'payment.void-declined',
    'receipt.printed',
    'receipt.held',
    'receipt.failed',
    'waybill.pickup',
    'waybill.dispatch',
    'waybill.delivery',
    'waybill.exception',
    'courier.checked-in',
    'courier.checked-out',
    'courier.check-in-failed',
    'tasks.updated',
    'settlement.closed',
    'settlement.out-of-balance',
  ])};
  const KEEP_EVENTS = 30;
  const $ = (selector) => document.querySelector(selector);
  const el = (tag, text, className) => {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  };
  const stateCell = (state) => {
    const cell = el('td');
    cell.append(el('span', state, 'state state-' + String(state).replace(/[^a-z-]/g, '')));
    return cell;
  };
  const row = (cells, attributes) => {
    const tr = el('tr');
    for (const cell of cells) tr.append(cell instanceof Node ? cell : el('td', cell));
    for (const [name, value] of Object.entries(attributes || {})) tr.setAttribute(name, value);
    return tr;
  };
  const fill = (selector, rows) => $(selector).replaceChildren(...rows);
  const field = (section, name, text) => { $('#' + section + ' [data-field="' + name + '"]').textContent = text; };
  const time = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : '-');
  const money = (part) => (part ? part.count + ' / ' + part.text : '-');
  const age = (ms) => (ms === null || ms === undefined ? '' : ' (' + Math.round(ms / 1000) + ' s ago)');

  function draw(summary) {
    $('#version').textContent = summary.daemon.version;
    $('#daemon').textContent = 'pid ' + summary.daemon.pid + ', up since ' + summary.daemon.startedAt;
    fill('#problems', summary.problems.map((problem) => el('li', problem)));
    fill('#devices tbody', summary.devices.map((d) => row([d.name, stateCell(d.state), d.reason || ''], { 'data-device': d.name })));
    fill('#links tbody', Object.entries(summary.links).map(([name, health]) =>
      row([name, stateCell(health ? health.state : 'absent'), (health && health.reason) || ''], { 'data-link': name })));
    const spool = summary.spool;
    field('spool', 'depth', spool ? spool.depth : '-');
    field('spool', 'dead', spool ? spool.dead : '-');
    field('spool', 'oldest', spool && spool.oldestPendingAt ? spool.oldestPendingAt + age(spool.oldestPendingAgeMs) : 'none waiting');
    fill('#spool tbody', spool ? spool.streams.map((s) => row([s.stream, s.depth, s.dead, s.oldestPendingAt || '-'], { 'data-stream': s.stream })) : []);
    const batch = summary.batch;
    field('batch', 'number', batch ? batch.number : '');
    field('batch', 'purchases', money(batch && batch.purchases));
    field('batch', 'refunds', money(batch && batch.refunds));
    field('batch', 'voids', money(batch && batch.voids));
    const day = summary.day;
    field('day', 'date', day ? day.date : '');
    field('day', 'courier', summary.courier ? summary.courier.name + ' (' + summary.courier.id + ')' : 'nobody checked in');
    field('day', 'tasks', summary.tasks ? summary.tasks.done + ' of ' + summary.tasks.total : '-');
    field('day', 'deliveries', day ? day.deliveries : '-');
    field('day', 'pickups', day ? day.pickups : '-');
    field('day', 'cash', money(day && day.cash));
    field('day', 'card', money(day && day.card));
    field('day', 'qr', money(day && day.qr));
    fill('#payments tbody', (summary.payments || []).map((p) =>
      row([time(p.createdAt), p.waybill || '-', p.amountText, p.panLast4 ? '**** ' + p.panLast4 : '-', p.entry || '-', stateCell(p.state)], { 'data-journal-id': p.journalId })));
    $('#updated').textContent = time(summary.at);
    document.body.dataset.summaryAt = summary.at;
  }

  let reading = null;
  let again = false;
  async function refresh() {
    if (reading) { again = true; return reading; }
    reading = (async () => {
      do {
        again = false;
        try {
          const answer = await fetch('/v1/status/summary', { cache: 'no-store', credentials: 'same-origin' });
          const body = await answer.json();
          if (!answer.ok) throw new Error(body.error ? body.error.code + ': ' + body.error.message : 'HTTP ' + answer.status);
          draw(body);
        } catch (error) {
          fill('#problems', [el('li', 'cannot read the summary: ' + error.message)]);
        }
      } while (again);
      reading = null;
    })();
    return reading;
  }

  function listEvent(type, message) {
    let data = {};
    try { data = JSON.parse(message.data); } catch { /* a comment or a broken line: list the type alone */ }
    const details = Object.entries(data).filter(([key]) => key !== 'at').map(([key, value]) => key + '=' + (typeof value === 'object' ? JSON.stringify(value) : value));
    const item = el('li', time(data.at) + '  #' + message.lastEventId + '  ' + type + '  ' + details.join(' '));
    item.dataset.type = type;
    const list = $('#events ol');
    list.prepend(item);
    while (list.children.length > KEEP_EVENTS) list.lastElementChild.remove();
  }

  function setStream(state) {
    document.body.dataset.stream = state;
    const badge = $('#stream-state');
    badge.textContent = state;
    badge.className = 'badge ' + state;
  }

  function follow() {
    const source = new EventSource('/v1/events');
    source.onopen = () => { setStream('live'); refresh(); };
    source.onerror = () => setStream(source.readyState === EventSource.CLOSED ? 'closed' : 'lost');
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (message) => { listEvent(type, message); refresh(); });
    }
  }

  refresh();
  follow();
})();
`;
