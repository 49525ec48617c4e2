/**
 * The V8 options codposd runs with, wherever it is started: the launcher's #! line (written by
 * scripts/build/bundle.ts), the Debian package's /usr/bin/codposd wrapper, the build's
 * code-cache run, the benches and the tests. One list, because V8 refuses a code cache made
 * under other options (the daemon then compiles its bundle again at each start: 7 MB more
 * resident memory and 70 ms more boot, measured).
 *
 * --max-semi-space-size=1: the young generation's two halves stop at 1 MB each instead of
 * growing to 4-16 MB during the boot's burst of allocation and staying resident: 6 MB of a box's
 * 70 MB budget (`npm run bench -- daemon`, rss_after_ready). A daemon allocates little per
 * request, so the extra scavenges cost nothing measurable (same bench: payment, event loop).
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
