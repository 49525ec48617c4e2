/**
 * The status page's HTML (served at GET /status). A string module, not a file: tsc copies
 * it to dist/ with the rest, and the page needs nothing from the internet. Its script
 * (script.ts) fills the sections from GET /v1/status/summary and follows GET /v1/events.
 */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>codposd status</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/status/style.css">
<script src="/status/app.js" defer></script>
</head>
<body data-stream="connecting">
<header>
  <h1>codposd <span id="version"></span></h1>
  <p><span id="stream-state" class="badge">connecting</span> updated <time id="updated">-</time> <span id="daemon"></span></p>
  <ul id="problems"></ul>
</header>
<main>
  <section id="devices"><h2>Devices</h2>
    <table><thead><tr><th>device</th><th>state</th><th>why</th></tr></thead><tbody></tbody></table>
  </section>
  <section id="links"><h2>Links</h2>
    <table><thead><tr><th>link</th><th>state</th><th>why</th></tr></thead><tbody></tbody></table>
  </section>
  <section id="spool"><h2>Spool</h2>
    <dl><dt>to send</dt><dd data-field="depth">-</dd><dt>dead</dt><dd data-field="dead">-</dd><dt>oldest record</dt><dd data-field="oldest">-</dd></dl>
    <table><thead><tr><th>stream</th><th>to send</th><th>dead</th><th>oldest</th></tr></thead><tbody></tbody></table>
  </section>
  <section id="batch"><h2>Open batch <span data-field="number"></span></h2>
    <dl><dt>purchases</dt><dd data-field="purchases">-</dd><dt>refunds</dt><dd data-field="refunds">-</dd><dt>voids</dt><dd data-field="voids">-</dd></dl>
  </section>
  <section id="day"><h2>The day <span data-field="date"></span></h2>
    <dl><dt>courier</dt><dd data-field="courier">-</dd><dt>tasks done</dt><dd data-field="tasks">-</dd><dt>deliveries</dt><dd data-field="deliveries">-</dd><dt>pickups</dt><dd data-field="pickups">-</dd><dt>cash</dt><dd data-field="cash">-</dd><dt>card</dt><dd data-field="card">-</dd><dt>QR</dt><dd data-field="qr">-</dd></dl>
  </section>
  <section id="payments" class="wide"><h2>Last payments</h2>
    <table><thead><tr><th>time</th><th>waybill</th><th>amount</th><th>card</th><th>entry</th><th>state</th></tr></thead><tbody></tbody></table>
  </section>
  <section id="events" class="wide"><h2>Live events</h2><ol reversed></ol></section>
</main>
</body>
</html>
`;
