/** The status page's stylesheet (GET /status/style.css): readable on a technician's laptop and in a screenshot. */
export const STATUS_PAGE_CSS = `:root { font-family: system-ui, sans-serif; color: #1d2330; background: #f3f5f8; }
body { margin: 0; padding: 1rem 1.5rem; }
header h1 { margin: 0 0 .25rem; font-size: 1.4rem; }
header p { margin: 0; color: #556; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr)); gap: 1rem; margin-top: 1rem; }
section { background: #fff; border: 1px solid #d5dae3; border-radius: 6px; padding: .75rem 1rem; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 1rem; margin: 0 0 .5rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .2rem .5rem .2rem 0; border-bottom: 1px solid #eef0f4; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0 0 .5rem; }
dt { color: #556; }
dd { margin: 0; font-variant-numeric: tabular-nums; }
.badge, .state { display: inline-block; padding: 0 .4rem; border-radius: 3px; background: #e4e7ec; }
.state-online, .state-up, .state-approved, .state-settled, .badge.live { background: #cdeccf; }
.state-degraded, .state-reconnecting, .state-starting, .state-pending { background: #fbe7b5; }
.state-offline, .state-down, .state-declined, .state-failed, .state-reversed, .badge.lost { background: #f6c9c9; }
#problems { color: #a32; margin: .25rem 0 0; padding-left: 1.2rem; }
#events ol { margin: 0; padding-left: 2.5rem; font-family: ui-monospace, monospace; font-size: .8rem; max-height: 14rem; overflow: auto; }
`;
