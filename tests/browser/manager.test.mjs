// Browser test of the manager page: Debian's Chromium (headless) driven by playwright-core,
// against a real `serval` on a temporary base directory. Each step writes a screenshot to
// build/browser-screenshots/ so a person can look at what the page showed.
//
// Run through CTest (tests/browser/CMakeLists.txt) or: SERVAL_BIN=build/bin SERVAL_SOURCE=. \
//   SERVAL_BUILD=build node --test tests/browser/manager.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, stopServer, waitFor as waitForCondition } from './support.mjs';

// import.meta.dirname needs Node 20.11; Debian 12 ships Node 18.
const here = path.dirname(fileURLToPath(import.meta.url));
const source = process.env.SERVAL_SOURCE || path.resolve(here, '../..');
const build = process.env.SERVAL_BUILD || path.join(source, 'build');
const bin = process.env.SERVAL_BIN || path.join(build, 'bin');
const shots = path.join(build, 'browser-screenshots');
const password = 'browser-test-' + Math.random().toString(36).slice(2);

let base;
let server;
let serverLog = '';
let origin;
let browser;
let page;

function waitFor(condition, what, timeoutMs = 15000) {
  return waitForCondition(condition, what, () => serverLog, timeoutMs);
}

async function get(target) {
  const response = await fetch(origin + target, { redirect: 'manual' });
  return { status: response.status, body: await response.text() };
}

async function shot(name) {
  await page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
}

// A static-only bundle (web.xml without servlets plus one page), zipped with Info-ZIP.
function makeBundle(dir, name, marker) {
  const root = path.join(dir, name + '-src');
  fs.mkdirSync(path.join(root, 'WEB-INF'), { recursive: true });
  fs.writeFileSync(path.join(root, 'WEB-INF', 'web.xml'),
    '<?xml version="1.0"?>\n<web-app>\n  <display-name>Greeting</display-name>\n' +
    '  <welcome-file-list><welcome-file>index.html</welcome-file></welcome-file-list>\n</web-app>\n');
  fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>greeting</title><p>' + marker + '</p>\n');
  const file = path.join(dir, name + '.sar');
  const zip = spawnSync('zip', ['-qr', file, '.'], { cwd: root });
  assert.equal(zip.status, 0, 'zip failed: ' + zip.stderr);
  return file;
}

before(async () => {
  fs.mkdirSync(shots, { recursive: true });
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'serval-browser-'));
  fs.cpSync(path.join(source, 'conf'), path.join(base, 'conf'), { recursive: true });
  fs.rmSync(path.join(base, 'conf', 'users.xml'), { force: true });
  fs.mkdirSync(path.join(base, 'webapps'), { recursive: true });
  if (fs.existsSync(path.join(source, 'webapps', 'ROOT'))) {
    fs.cpSync(path.join(source, 'webapps', 'ROOT'), path.join(base, 'webapps', 'ROOT'), { recursive: true });
  }
  const bundles = path.join(build, 'bundles');
  if (fs.existsSync(bundles)) {
    for (const f of fs.readdirSync(bundles)) if (f.endsWith('.sar')) fs.copyFileSync(path.join(bundles, f), path.join(base, 'webapps', f));
  }

  // The faults fixture (tests/fixtures/apps/Faults.cpp), isolated (the default): its crash list
  // and its worker processes in the app view.
  fs.mkdirSync(path.join(base, 'webapps', 'faults', 'WEB-INF', 'lib'), { recursive: true });
  fs.writeFileSync(path.join(base, 'webapps', 'faults', 'WEB-INF', 'web.xml'),
    '<web-app><servlet><servlet-name>f</servlet-name><servlet-class>fixture.Faults</servlet-class></servlet>' +
    '<servlet-mapping><servlet-name>f</servlet-name><url-pattern>/*</url-pattern></servlet-mapping></web-app>\n');
  fs.copyFileSync(path.join(build, 'tests', 'fixtures', 'libfaults.so'),
    path.join(base, 'webapps', 'faults', 'WEB-INF', 'lib', 'libfaults.so'));
  // An app with an embedded data source (the guestbook fixture), for the Back up button.
  const shop = path.join(base, 'webapps', 'shop', 'WEB-INF');
  fs.mkdirSync(path.join(shop, 'lib'), { recursive: true });
  fs.mkdirSync(path.join(shop, 'migrations'), { recursive: true });
  fs.copyFileSync(path.join(build, 'tests', 'fixtures', 'libguestbook.so'), path.join(shop, 'lib', 'libguestbook.so'));
  fs.writeFileSync(path.join(shop, 'web.xml'), '<?xml version="1.0"?>\n<web-app>\n  <display-name>Shop</display-name>\n' +
    '  <servlet><servlet-name>entries</servlet-name><servlet-class>guestbook.Entries</servlet-class></servlet>\n' +
    '  <servlet-mapping><servlet-name>entries</servlet-name><url-pattern>/entries</url-pattern></servlet-mapping>\n' +
    '  <resource-ref><res-ref-name>main</res-ref-name></resource-ref>\n</web-app>\n');
  fs.writeFileSync(path.join(shop, 'migrations', 'V1__create_tables.sql'),
    'CREATE TABLE entry (id INTEGER PRIMARY KEY, name TEXT NOT NULL, message TEXT);\n');

  const passwd = spawnSync(path.join(bin, 'serval'),
    ['passwd', 'admin', '--base', base, '--roles', 'manager-gui,manager-script,manager-status', '--stdin'],
    { input: password + '\n', encoding: 'utf8' });
  assert.equal(passwd.status, 0, 'serval passwd failed: ' + passwd.stderr);

  server = spawn(path.join(bin, 'serval'), ['--base', base, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  server.stderr.on('data', (chunk) => { serverLog += chunk; });
  const match = await waitFor(() => serverLog.match(/listening on (http:\/\/[^\s/]+)\//), 'serval to listen');
  origin = match[1];

  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  page.on('pageerror', (e) => { serverLog += '\n[page error] ' + e.message; });
});

after(async () => {
  if (browser) await browser.close();
  await stopServer(server);
  if (base) fs.rmSync(base, { recursive: true, force: true });
});

test('an operator runs an app from the manager page', async () => {
  const greeting = makeBundle(base, 'greeting', 'Hello from the greeting bundle');
  const broken = path.join(base, 'broken.sar');
  fs.writeFileSync(broken, 'this is not an archive\n');

  // 1. Login form; the API refuses anything before login.
  await page.goto(origin + '/manager/');
  await page.locator('#login-form').waitFor();
  assert.equal((await get('/manager/api/apps')).status, 401);
  await shot('01-login');

  // A wrong password is refused in place.
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#login-error').filter({ hasText: 'wrong user name or password' }).waitFor();

  // 2. Log in and see the applications, including the samples shipped with the build.
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#view-apps table').first().waitFor();
  const samples = fs.existsSync(path.join(build, 'bundles'))
    ? fs.readdirSync(path.join(build, 'bundles')).filter((f) => f.endsWith('.sar')).map((f) => '/' + f.replace(/\.sar$/, '').replace(/#/g, '/'))
    : [];
  for (const sample of samples) {
    await page.locator(`#view-apps tr[data-app="${sample}"]`).waitFor();
  }
  await shot('02-applications');

  // 3. Upload a bundle; the result shows in place and the app answers.
  await page.getByRole('link', { name: 'Deploy', exact: true }).click();
  await page.getByLabel('Bundle file').setInputFiles(greeting);
  await page.getByRole('button', { name: 'Upload and deploy' }).click();
  await page.locator('#upload-result:not(.bad)').filter({ hasText: 'Deployed /greeting' }).waitFor();
  await shot('03-deployed');
  await waitFor(async () => (await get('/greeting/')).body.includes('Hello from the greeting bundle'), '/greeting/ to answer');

  // 4. Stop it (with confirmation): it answers 503.
  await page.getByRole('link', { name: 'Applications', exact: true }).click();
  const row = page.locator('#view-apps tr[data-app="/greeting"]');
  await row.locator('.badge.running').waitFor();
  await row.getByRole('button', { name: 'Stop /greeting' }).click();
  await page.locator('#confirm[open]').waitFor();
  await shot('04-confirm-stop');
  await page.locator('#confirm-ok').click();
  await row.locator('.badge.stopped').waitFor();
  await waitFor(async () => (await get('/greeting/')).status === 503, '/greeting/ to answer 503');
  await shot('05-stopped');

  // 5. Start it again.
  await row.getByRole('button', { name: 'Start /greeting' }).click();
  await row.locator('.badge.running').waitFor();
  await waitFor(async () => (await get('/greeting/')).status === 200, '/greeting/ to answer 200 again');
  await shot('06-started');

  // 6. Undeploy it: gone from the table and from the server.
  await row.getByRole('button', { name: 'Undeploy /greeting' }).click();
  await page.locator('#confirm-ok').click();
  await row.waitFor({ state: 'detached' });
  await waitFor(async () => (await get('/greeting/')).status === 404, '/greeting/ to answer 404');
  await shot('07-undeployed');

  // 7. A failed deploy shows its one-line reason.
  await page.getByRole('link', { name: 'Deploy', exact: true }).click();
  await page.getByLabel('Bundle file').setInputFiles(broken);
  await page.getByRole('button', { name: 'Upload and deploy' }).click();
  const failure = page.locator('#upload-result.bad');
  await failure.waitFor();
  const reason = await failure.textContent();
  assert.match(reason, /^Deploy failed: .+/);
  assert.ok(!reason.includes('undefined'), reason);
  await shot('08-failed-deploy');

  // 8. An app's page shows its data source; Back up downloads a consistent SQLite file.
  const added = await fetch(origin + '/shop/entries', { method: 'POST', body: 'name=ada&message=hi',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(added.status, 200, await added.text());
  await page.goto(origin + '/manager/#/app?host=localhost&path=%2Fshop');
  const source = page.locator('tr[data-datasource="main"]');
  await source.waitFor();
  assert.match(await source.textContent(), /sqlite/);
  const [download] = await Promise.all([page.waitForEvent('download'), source.getByRole('button', { name: 'Back up main' }).click()]);
  assert.equal(download.suggestedFilename(), 'shop-main.db');
  const saved = path.join(base, 'shop-main.db');
  await download.saveAs(saved);
  assert.equal(fs.readFileSync(saved).subarray(0, 16).toString('latin1'), 'SQLite format 3\0');
  await page.locator('#notice').filter({ hasText: 'downloaded' }).waitFor();
  await shot('09-backup');

  // 9. Server status draws the live chart without reloading.
  await page.getByRole('link', { name: 'Server status' }).click();
  await page.locator('#rps-now').filter({ hasText: 'requests/s' }).waitFor({ timeout: 10000 });
  await shot('10-status');

  // 9. An isolated app's view: its worker process, its crash list (a crash opens to its
  // backtrace), and "Restart processes" replaces the worker.
  const workerPid = async () => {
    const reply = await get('/faults/ok');
    return reply.status === 200 && reply.body.startsWith('ok ') ? Number(reply.body.slice(3)) : 0;
  };
  const before = await waitFor(workerPid, '/faults/ok to answer');
  const crashed = await fetch(origin + '/faults/segv');
  assert.equal(crashed.status, 502);
  const crashId = crashed.headers.get('x-serval-crash-id');
  assert.ok(crashId, 'the 502 names its crash');
  await page.goto(origin + '/manager/#/app?host=localhost&path=%2Ffaults');
  await page.locator('#app-processes [data-process-state="running"]').waitFor();
  const crash = page.locator(`#app-crashes details[data-crash="${crashId}"]`);
  await crash.waitFor();
  assert.match(await crash.locator('.crash-function').textContent(), /^serval_fixture_null_write/);
  await crash.locator('summary').click();
  await crash.locator('.crash-detail').filter({ hasText: 'libfaults.so+0x' }).waitFor();
  await shot('10-isolated-app');
  const after = await waitFor(workerPid, 'a worker after the crash');
  await page.locator(`#app-processes tr[data-pid="${after}"]`).waitFor();
  await page.getByRole('button', { name: 'Restart processes /faults' }).click();
  await page.locator('#confirm-ok').click();
  await waitFor(async () => { const now = await workerPid(); return now && now !== after; }, 'a new worker');
  await page.locator(`#app-processes tr[data-pid="${after}"]`).waitFor({ state: 'detached', timeout: 10000 });
  assert.notEqual(before, 0);

  // 10. Log out: back to the form, and the API refuses again.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.locator('#login-form').waitFor();
  await shot('11-logged-out');
  const cookies = await page.context().cookies();
  const apiAfter = await page.evaluate(async () => (await fetch('api/apps')).status);
  assert.equal(apiAfter, 401, 'the API must refuse after logout (cookies: ' + JSON.stringify(cookies) + ')');
});
