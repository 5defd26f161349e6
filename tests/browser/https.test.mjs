// Headless Chromium loads the manager page over HTTPS with HTTP/2 (issue 16): a throw-away
// ECDSA certificate that Chromium trusts by its public key (--ignore-certificate-errors-spki-list,
// the key pinned rather than every error ignored), a real `serval` with only a TLS connector.
//
// Run through CTest (tests/browser/CMakeLists.txt) or: SERVAL_BIN=build/bin SERVAL_SOURCE=. \
//   SERVAL_BUILD=build node --test tests/browser/https.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
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
const password = 'browser-test-' + Math.random().toString(36).slice(2);
const hsts = 'max-age=31536000; includeSubDomains';

let base;
let server;
let serverLog = '';
let origin;
let browser;
let page;

function waitFor(condition, what, timeoutMs = 15000) {
  return waitForCondition(condition, what, () => serverLog, timeoutMs);
}

function openssl(args, input) {
  const r = spawnSync('openssl', args, { input, cwd: base });
  assert.equal(r.status, 0, 'openssl ' + args.join(' ') + ' failed: ' + r.stderr);
  return r.stdout;
}

before(async () => {
  fs.mkdirSync(shots, { recursive: true });
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'serval-https-'));
  fs.mkdirSync(path.join(base, 'conf'), { recursive: true });
  fs.mkdirSync(path.join(base, 'webapps', 'ROOT'), { recursive: true });
  fs.writeFileSync(path.join(base, 'webapps', 'ROOT', 'index.html'), '<!doctype html><title>root</title><p>root</p>\n');
  fs.copyFileSync(path.join(source, 'conf', 'web.xml'), path.join(base, 'conf', 'web.xml'));
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
    '-keyout', 'conf/server.key', '-out', 'conf/server.pem']);
  // The SPKI pin Chromium wants: base64(SHA-256(SubjectPublicKeyInfo DER)).
  const spki = openssl(['pkey', '-in', 'conf/server.key', '-pubout', '-outform', 'DER']);
  const pin = openssl(['dgst', '-sha256', '-binary'], spki).toString('base64');
  fs.writeFileSync(path.join(base, 'conf', 'server.xml'),
    '<Server logFile="" accessLog="">\n' +
    `  <Connector port="0" address="127.0.0.1" hsts="${hsts}">\n` +
    '    <Certificate certificateFile="conf/server.pem" keyFile="conf/server.key"/>\n' +
    '  </Connector>\n' +
    '  <Engine defaultHost="localhost"><Host name="localhost" appBase="webapps"/></Engine>\n' +
    '</Server>\n');
  const passwd = spawnSync(path.join(bin, 'serval'),
    ['passwd', 'admin', '--base', base, '--roles', 'manager-gui,manager-script,manager-status', '--stdin'],
    { input: password + '\n', encoding: 'utf8' });
  assert.equal(passwd.status, 0, 'serval passwd failed: ' + passwd.stderr);

  server = spawn(path.join(bin, 'serval'), ['--base', base, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  server.stderr.on('data', (chunk) => { serverLog += chunk; });
  const match = await waitFor(() => serverLog.match(/listening on https:\/\/[^\s/]+:(\d+)\//), 'serval to listen');
  origin = 'https://localhost:' + match[1];

  browser = await launchChromium(['--host-resolver-rules=MAP localhost 127.0.0.1', '--ignore-certificate-errors-spki-list=' + pin]);
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on('pageerror', (e) => { serverLog += '\n[page error] ' + e.message; });
});

after(async () => {
  if (browser) await browser.close();
  await stopServer(server);
  if (base) fs.rmSync(base, { recursive: true, force: true });
});

test('the manager page loads over https with h2 and works', async () => {
  const response = await page.goto(origin + '/manager/');
  assert.equal(response.status(), 200);
  assert.equal(await response.headerValue('strict-transport-security'), hsts);
  await page.locator('#login-form').waitFor();
  const protocol = await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
  assert.equal(protocol, 'h2');

  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#view-apps tr[data-app="/"]').waitFor();
  await page.screenshot({ path: path.join(shots, 'https-01-applications.png'), fullPage: true });
  // The page's own API calls went over the same h2 connection.
  const api = await page.evaluate(() => performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/manager/api/')).map((e) => e.nextHopProtocol));
  assert.ok(api.length > 0, 'no API calls seen');
  assert.ok(api.every((p) => p === 'h2'), JSON.stringify(api));
});
