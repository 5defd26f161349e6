// Helpers shared by the browser tests (manager.test.mjs, chat.test.mjs, https.test.mjs).
import { chromium } from 'playwright-core';

// Debian's Chromium, headless, with nothing that phones home; `extraArgs` for a test's own flags.
export function launchChromium(extraArgs = []) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', ...extraArgs],
  });
}

// Stops a spawned `serval` (SIGTERM, SIGKILL after 10 s) and resolves once it has exited.
export async function stopServer(server) {
  if (!server || server.exitCode !== null) return;
  server.kill('SIGTERM');
  await new Promise((resolve) => { server.once('exit', resolve); setTimeout(() => { server.kill('SIGKILL'); }, 10000); });
}

// Polls `condition` every 50 ms until it returns a truthy value (resolved with it) or
// `timeoutMs` passes (rejected, naming `what` and the tail of the server log `log()` returns).
// A condition that throws counts as not yet.
export function waitFor(condition, what, log, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = async () => {
      let value;
      try { value = await condition(); } catch (e) { value = undefined; }
      if (value) return resolve(value);
      if (Date.now() > end) return reject(new Error('timed out waiting for ' + what + '\nserver log:\n' + log().slice(-4000)));
      setTimeout(tick, 50);
    };
    tick();
  });
}
