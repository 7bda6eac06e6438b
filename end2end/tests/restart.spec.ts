// A deploy with pages open. The person's page and the agent's page are open when the server
// is stopped (SIGTERM) and started again on the same port and database; Microsoft's callbacks
// then reach the new process, and both pages show the result by themselves: their event
// streams were told to reconnect and resume with Last-Event-ID.
//
// The test runs a server of its own (SERVER_BIN on RESTART_PORT, set by scripts/test), with
// its own database. Its "Microsoft" is the emulator inside the suite's main server, which
// stays up through the restart as the real Microsoft would.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type APIRequestContext, type Browser, type Page, type Route, type TestInfo } from '@playwright/test';
import { hydrated, signUpNewAdmin } from '../pages/accounts';
import {
  AgentVerificationPage,
  Authenticator,
  EMULATOR_URL,
  RecipientPage,
  VerificationsPage,
  connectTenant,
  personContext,
  tenantFor,
} from '../pages/verification';

const SERVER_BIN = process.env.SERVER_BIN;
const PORT = process.env.RESTART_PORT;
const BASE = `http://127.0.0.1:${PORT}`;
// The emulator's demo app registration (microsoft-emulator/src/seed.rs). Our server is
// configured with it as with a real Microsoft app, so it never starts an emulator of its own.
const CLIENT_ID = '5f0c7a3e-9d1b-4c2a-8e6f-2b7d9a1c4e80';
const CLIENT_SECRET = 'emulator-dev-secret-not-valid-at-microsoft';
/** The server's own bound on a stop (server/src/shutdown.rs). */
const STOP_BOUND_MS = 10_000;

test.skip(!SERVER_BIN || !PORT, 'needs SERVER_BIN and RESTART_PORT, as scripts/test sets them');
test.use({ baseURL: BASE });

/** Our own server process: started, stopped with SIGTERM, started again. */
class Server {
  private child?: ChildProcess;
  private exited?: Promise<number | null>;

  constructor(
    private database: string,
    readonly log: string,
  ) {}

  async start() {
    // Only what this server needs: scripts/test's TRACELESS_* settings are for the main server.
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LEPTOS_SITE_ROOT: process.env.LEPTOS_SITE_ROOT ?? '',
      TRACELESS_BIND_ADDR: `127.0.0.1:${PORT}`,
      TRACELESS_PUBLIC_URL: `${BASE}/`,
      TRACELESS_DATABASE_URL: `sqlite://${this.database}`,
      TRACELESS_MS_CLIENT_ID: CLIENT_ID,
      TRACELESS_MS_CLIENT_SECRET: CLIENT_SECRET,
      TRACELESS_MS_LOGIN_URL: `${EMULATOR_URL}/login`,
      TRACELESS_MS_GRAPH_URL: `${EMULATOR_URL}/graph`,
      TRACELESS_MS_VERIFIED_ID_URL: `${EMULATOR_URL}/verifiedid`,
      TRACELESS_LOG: 'warn,server=info',
    };
    const log = createWriteStream(this.log, { flags: 'a' });
    const child = spawn(SERVER_BIN!, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    this.child = child;
    await expect
      .poll(
        async () => {
          try {
            return (await fetch(`${BASE}/healthz`)).status;
          } catch {
            return 0;
          }
        },
        { timeout: 30_000, intervals: [100] },
      )
      .toBe(200);
  }

  /** SIGTERM, as a deploy sends; returns how long the process took to exit. */
  async stop() {
    const began = Date.now();
    this.child!.kill('SIGTERM');
    const code = await this.exited;
    this.child = undefined;
    expect(code, 'the server exits cleanly').toBe(0);
    return Date.now() - began;
  }

  kill() {
    this.child?.kill('SIGKILL');
  }
}

let work: string;
let server: Server;

test.beforeEach(async ({ request }) => {
  work = mkdtempSync(path.join(tmpdir(), 'traceless-restart-'));
  server = new Server(path.join(work, 'restart.db'), path.join(work, 'server.log'));
  // Microsoft sends the admin back to this server after consent.
  const registered = await request.post(`${EMULATOR_URL}/_control/redirect_uris`, {
    data: { client_id: CLIENT_ID, redirect_uri: `${BASE}/organization/integrations/microsoft/callback` },
  });
  expect(registered.status()).toBe(204);
  await server.start();
});

test.afterEach(async ({}, testInfo) => {
  server.kill();
  const log = readFileSync(server.log, 'utf8');
  await testInfo.attach('server.log', { body: log, contentType: 'text/plain' });
  rmSync(work, { recursive: true, force: true });
  expect(log, 'the server logged no errors').not.toContain('ERROR');
});

/** The agent sends a verification and follows it; the person opens the link in a second browser. */
async function openPages(page: Page, browser: Browser, testInfo: TestInfo) {
  const tenant = tenantFor(testInfo);
  await signUpNewAdmin(page, `${tenant.name} Help Desk`);
  await connectTenant(page, testInfo);
  const verifications = new VerificationsPage(page);
  await verifications.open();
  const link = await verifications.send({ email: tenant.employee });
  expect(link.startsWith(`${BASE}/verify/`)).toBeTruthy();
  await verifications.follow();
  const agent = new AgentVerificationPage(page);

  const person = await personContext(browser, testInfo);
  const personPage = await person.newPage();
  const recipient = new RecipientPage(personPage);
  await recipient.open(link);
  await expect(recipient.qr()).toBeVisible();
  await hydrated(personPage);
  const requestUrl = await recipient.requestUrl();
  // The agent's page heard the person open the link: its stream is live.
  await expect(agent.status()).toHaveText('Waiting for scan');
  return { tenant, agent, person, personPage, recipient, requestUrl };
}

/** The phone scans and presents; both open pages follow without a reload. */
async function verifyAndWatch(request: APIRequestContext, pages: Awaited<ReturnType<typeof openPages>>) {
  const { tenant, agent, recipient, requestUrl } = pages;
  const phone = new Authenticator(request);
  await phone.scan(requestUrl);
  await expect(recipient.status()).toContainText('Scanned: finish in Authenticator', { timeout: 15_000 });
  await expect(agent.status()).toHaveText('Scanned', { timeout: 15_000 });
  await phone.present(requestUrl, tenant.employee);
  await expect(recipient.status()).toContainText("You're verified — you can close this page");
  await expect(agent.status()).toHaveText('Verified');
}

test('after a restart, Microsoft’s callbacks reach the open pages without a reload', async ({ page, browser, request }, testInfo) => {
  test.setTimeout(120_000);
  const pages = await openPages(page, browser, testInfo);

  const took = await server.stop();
  expect(took, 'the stop ends the open streams instead of waiting on them').toBeLessThan(STOP_BOUND_MS);
  await server.start();

  await verifyAndWatch(request, pages);
  await pages.person.close();
});

test('a proxy answering 502 while the server restarts does not strand the pages', async ({ page, browser, request }, testInfo) => {
  test.setTimeout(120_000);
  const pages = await openPages(page, browser, testInfo);
  // What a reverse proxy answers while nothing listens behind it: browsers give up on an
  // event stream for good after such an answer, so the page must open a new one itself.
  const events = /\/events(\?|$)/;
  const refused = new Map<Page, number>();
  const answerBadGateway = (target: Page) =>
    target.route(events, async (route: Route) => {
      await route.fulfill({ status: 502, contentType: 'text/html', body: 'Bad Gateway' });
      refused.set(target, (refused.get(target) ?? 0) + 1);
    });
  await answerBadGateway(page);
  await answerBadGateway(pages.personPage);

  await server.stop();
  await server.start();
  // Each browser's own retry (within 1–3 s) has met the 502 before the proxy recovers.
  await expect
    .poll(() => Math.min(refused.get(page) ?? 0, refused.get(pages.personPage) ?? 0), {
      message: 'both pages met a 502 on their event stream',
      timeout: 15_000,
    })
    .toBeGreaterThan(0);
  await page.unroute(events);
  await pages.personPage.unroute(events);

  await verifyAndWatch(request, pages);
  await pages.person.close();
});
