/**
 * Cold-start probe for the browser: in a fresh process whose TMPDIR is empty, unpacks
 * @sparticuz/chromium (as a new Lambda container does in /tmp), launches it the way the collector
 * does (a browser session: its deny-all egress proxy, then Chromium behind it), closes it, then
 * launches it again `warmLaunches` times with the binary in place.
 */
import { browserSession, chromiumExecutable, launchSluiceChromium } from './sluice-ports.js';

const warmLaunches = Number(process.argv[2] ?? '3');
const started = performance.now();
const executablePath = await chromiumExecutable();
const unpackMs = performance.now() - started;

async function launchOnce(): Promise<number> {
  const t = performance.now();
  const session = browserSession((proxyUrl) => launchSluiceChromium(executablePath, proxyUrl));
  const browser = await session.current();
  // A launch counts once the browser can open a page, which is what the first job needs.
  const page = await browser.newPage();
  await page.close();
  const ms = performance.now() - t;
  await session.close();
  return ms;
}

const firstLaunchMs = await launchOnce();
const warmLaunchMs: number[] = [];
for (let i = 0; i < warmLaunches; i += 1) warmLaunchMs.push(await launchOnce());
console.log(JSON.stringify({ executablePath, unpackMs, firstLaunchMs, warmLaunchMs }));
