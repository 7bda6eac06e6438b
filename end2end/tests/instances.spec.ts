// Two server instances on one PostgreSQL, behind nginx (round-robin), as scripts/test starts
// them (NGINX_URL, INSTANCE_PIDS_LIST). Each browser is pinned to an instance with the
// `X-Traceless-Instance` header, which nginx honours with the other instance as fallback;
// Microsoft's callbacks carry no such header and land wherever nginx sends them.
import { expect, test, type Browser, type Page, type TestInfo } from '@playwright/test';
import { hydrated, signUpNewAdmin } from '../pages/accounts';
import {
  AgentVerificationPage,
  Authenticator,
  EMULATOR_URL,
  RecipientPage,
  VerificationsPage,
  connectTenant,
  disconnectTenant,
  personContext,
  tenantFor,
} from '../pages/verification';

const NGINX_URL = process.env.NGINX_URL;
const PIDS = (process.env.INSTANCE_PIDS_LIST ?? '').split(' ').filter(Boolean).map(Number);
const PIN = 'X-Traceless-Instance';
// The emulator's demo app registration (microsoft-emulator/src/seed.rs), which the instances use.
const CLIENT_ID = '5f0c7a3e-9d1b-4c2a-8e6f-2b7d9a1c4e80';

test.skip(!NGINX_URL || PIDS.length !== 2, 'needs two instances behind nginx, as scripts/test starts them');
test.use({ baseURL: NGINX_URL, extraHTTPHeaders: { [PIN]: '2' } });

test.beforeEach(async ({ request }, testInfo) => {
  // The failover test kills an instance for good: one screen size is enough.
  test.skip(testInfo.project.name !== 'desktop', 'runs once, at desktop size');
  // Microsoft sends the admin back to nginx after consent.
  const registered = await request.post(`${EMULATOR_URL}/_control/redirect_uris`, {
    data: { client_id: CLIENT_ID, redirect_uri: `${NGINX_URL}/organization/integrations/microsoft/callback` },
  });
  expect(registered.status()).toBe(204);
});

/** The instance (nginx's `$upstream_addr`) that served each event stream of `page`. */
function streamUpstreams(page: Page) {
  const seen: string[] = [];
  page.on('response', (response) => {
    if (/\/events(\?|$)/.test(response.url())) {
      seen.push(response.headers()['x-traceless-upstream'] ?? '?');
    }
  });
  return seen;
}

/** The agent (pinned to instance 2) sends and follows; the person (pinned to 1) opens the link. */
async function openPages(page: Page, browser: Browser, testInfo: TestInfo) {
  const tenant = tenantFor(testInfo);
  await signUpNewAdmin(page, `${tenant.name} Help Desk`);
  await connectTenant(page, testInfo);
  const verifications = new VerificationsPage(page);
  await verifications.open();
  const link = await verifications.send({ email: tenant.employee });
  expect(link.startsWith(`${NGINX_URL}/verify/`), link).toBeTruthy();
  const agentStreams = streamUpstreams(page);
  await verifications.follow();
  const agent = new AgentVerificationPage(page);

  const person = await personContext(browser, testInfo, { [PIN]: '1' });
  const personPage = await person.newPage();
  const personStreams = streamUpstreams(personPage);
  const recipient = new RecipientPage(personPage);
  await recipient.open(link);
  await expect(recipient.qr()).toBeVisible();
  await hydrated(personPage);
  const requestUrl = await recipient.requestUrl();
  // The agent's page (another instance) heard the person open the link.
  await expect(agent.status()).toHaveText('Waiting for scan');
  await expect.poll(() => personStreams.length).toBeGreaterThan(0);
  await expect.poll(() => agentStreams.length).toBeGreaterThan(0);
  expect(personStreams[0], 'the two pages are served by different instances').not.toBe(agentStreams[0]);
  return { tenant, agent, person, personPage, recipient, requestUrl, personStreams };
}

test('pages served by different instances both update live', async ({ page, browser, request }, testInfo) => {
  test.setTimeout(120_000);
  const { tenant, agent, person, recipient, requestUrl } = await openPages(page, browser, testInfo);
  const phone = new Authenticator(request);

  await phone.scan(requestUrl);
  await expect(recipient.status()).toContainText('Scanned: finish in Authenticator');
  await expect(agent.status()).toHaveText('Scanned');
  await phone.present(requestUrl, tenant.employee);
  await expect(recipient.status()).toContainText("You're verified — you can close this page");
  await expect(agent.status()).toHaveText('Verified');

  await person.close();
  await disconnectTenant(page);
});

test('a page whose instance is killed reconnects through nginx and misses nothing', async ({ page, browser, request }, testInfo) => {
  test.setTimeout(120_000);
  const { tenant, agent, person, recipient, requestUrl, personStreams } = await openPages(page, browser, testInfo);
  const phone = new Authenticator(request);
  const before = personStreams[0];

  // The person's instance dies without a word (no retry hint, no goodbye).
  process.kill(PIDS[0], 'SIGKILL');
  // The browser reconnects by itself, with Last-Event-ID, through nginx to the other one.
  await expect.poll(() => personStreams.slice(1).find((u) => u !== before), { timeout: 15_000 }).toBeTruthy();

  await phone.scan(requestUrl);
  await expect(recipient.status()).toContainText('Scanned: finish in Authenticator', { timeout: 15_000 });
  await expect(agent.status()).toHaveText('Scanned');
  await phone.present(requestUrl, tenant.employee);
  await expect(recipient.status()).toContainText("You're verified — you can close this page");
  await expect(agent.status()).toHaveText('Verified');
  // Shown once each on the agent's timeline.
  for (const kind of ['opened', 'requested', 'scanned', 'verified']) {
    await expect(agent.timeline().locator(`li[data-kind="${kind}"]`), kind).toHaveCount(1);
  }

  await person.close();
  await disconnectTenant(page);
});
