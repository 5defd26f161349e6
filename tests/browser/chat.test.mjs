// Browser test of the chat sample (sdk/examples/chat): two pages of Debian's headless Chromium
// exchange messages over WebSocket, and a third page on the Server-Sent Events fallback
// (?transport=sse) sees them and is seen, against a real `serval` running the chat bundle in a
// worker process (the default). Screenshots go to build/browser-screenshots/chat-*.png.
//
// Run through CTest or: SERVAL_BIN=build/bin SERVAL_BUILD=build node --test tests/browser/chat.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, stopServer, waitFor as waitForCondition } from './support.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const source = process.env.SERVAL_SOURCE || path.resolve(here, '../..');
const build = process.env.SERVAL_BUILD || path.join(source, 'build');
const bin = process.env.SERVAL_BIN || path.join(build, 'bin');
const shots = path.join(build, 'browser-screenshots');

let base;
let server;
let serverLog = '';
let origin;
let browser;

function waitFor(condition, what, timeoutMs = 15000) {
  return waitForCondition(condition, what, () => serverLog, timeoutMs);
}

before(async () => {
  fs.mkdirSync(shots, { recursive: true });
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'serval-chat-'));
  fs.cpSync(path.join(source, 'conf'), path.join(base, 'conf'), { recursive: true }); // web.xml defaults
  fs.rmSync(path.join(base, 'conf', 'users.xml'), { force: true });
  fs.mkdirSync(path.join(base, 'webapps'), { recursive: true });
  fs.writeFileSync(path.join(base, 'conf', 'server.xml'),
    '<Server accessLog="">\n  <Connector address="127.0.0.1" port="0"/>\n' +
    '  <Engine defaultHost="localhost"><Host name="localhost" appBase="webapps"/></Engine>\n</Server>\n');
  fs.copyFileSync(path.join(build, 'bundles', 'chat.sar'), path.join(base, 'webapps', 'chat.sar'));
  server = spawn(path.join(bin, 'serval'), ['--base', base, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  server.stderr.on('data', (chunk) => { serverLog += chunk; });
  const match = await waitFor(() => serverLog.match(/listening on (http:\/\/[^\s/]+)\//), 'serval to listen');
  origin = match[1];
  await waitFor(async () => (await fetch(origin + '/chat/')).status === 200, 'the chat to deploy');
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  await stopServer(server);
  if (base) fs.rmSync(base, { recursive: true, force: true });
});

async function open(query, name) {
  const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
  page.on('pageerror', (e) => { serverLog += '\n[page error] ' + e.message; });
  await page.goto(origin + '/chat/' + query);
  await page.locator('#status[data-transport]').waitFor();
  await page.locator('#name').fill(name);
  return page;
}

async function say(page, text) {
  await page.locator('#text').fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

function line(page, text) {
  return page.locator('#log p', { hasText: text }).waitFor();
}

test('two WebSocket pages and an SSE page chat in one room', async () => {
  const ada = await open('', 'ada');
  const bob = await open('', 'bob');
  assert.equal(await ada.locator('#status').getAttribute('data-transport'), 'websocket');
  const eve = await open('?transport=sse', 'eve');
  assert.equal(await eve.locator('#status').getAttribute('data-transport'), 'sse');

  await say(ada, 'hello from ada');
  await line(bob, 'hello from ada');
  await line(eve, 'hello from ada');
  await say(bob, 'hi ada, <b>bold</b> stays text');
  await line(ada, 'hi ada, <b>bold</b> stays text');
  assert.equal(await ada.locator('#log p b').count(), 2, 'names only: message markup is text');
  await say(eve, 'eve over the fallback');
  await line(ada, 'eve over the fallback');
  await line(bob, 'eve over the fallback');
  await ada.screenshot({ path: path.join(shots, 'chat-websocket.png') });
  await eve.screenshot({ path: path.join(shots, 'chat-sse.png') });
});
