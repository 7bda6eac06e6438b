// Help-desk tools: an admin makes an API key (shown once) and a webhook endpoint; a tool
// starts verifications through the REST API and they appear live on the ticket's page; an
// agent cannot open the API keys or webhooks pages.
import { expect, test } from '../fixtures';
import { PASSWORD, TeamPage, hydrated, signUpNewAdmin, uniqueEmail } from '../pages/accounts';
import { TicketsPage } from '../pages/tickets';
import { ApiKeysPage, HelpDeskTool, WebhooksPage } from '../pages/tools';
import {
  Authenticator,
  RecipientPage,
  personContext,
} from '../pages/verification';

test.describe('with a connected tenant', () => {
  test('a key made in the UI starts verifications that appear live on their ticket', async ({ page, browser, request, connectedAdmin }, testInfo) => {
    const { tenant } = connectedAdmin;
    const keys = new ApiKeysPage(page);
    await keys.open();
    const key = await keys.create('Zendesk');
    expect(key).toMatch(/^tl_live_[A-Za-z0-9_-]{43}$/);
    await expect(keys.keys()).toContainText('Zendesk');
    await expect(keys.keys()).toContainText('never used');
    // Shown once: a fresh load lists the key by its prefix only.
    await page.reload();
    await hydrated(page);
    await expect(page.getByTestId('new-api-key')).toHaveCount(0);
    await expect(keys.keys()).toContainText(key.slice(0, 12));
    expect(await page.content()).not.toContain(key);

    // An endpoint nobody answers on (loopback, closed port): its attempts are shown.
    const webhooks = new WebhooksPage(page);
    await webhooks.open();
    const secret = await webhooks.add('http://127.0.0.1:9/hooks');
    expect(secret).toMatch(/^whsec_/);

    const reference = `INC-${Date.now()}`;
    const tool = new HelpDeskTool(request, key);
    const first = await tool.create({
      recipient_email: tenant.employee,
      ticket: { reference, subject: 'Laptop unlock' },
      delivery: 'link',
    });
    expect(first.created_by).toBe('Zendesk');

    const tickets = new TicketsPage(page);
    await tickets.find(reference);
    await expect(tickets.entry('Sent')).toContainText('Zendesk');

    // A second verification of the same ticket, and the person verifies: live on the page.
    const second = await tool.create({ recipient_email: tenant.employee, ticket: { reference } });
    await expect(tickets.entry('Sent')).toHaveCount(2, { timeout: 10_000 });
    const person = await personContext(browser, testInfo);
    const personPage = await person.newPage();
    const recipient = new RecipientPage(personPage);
    await recipient.open(second.link);
    await expect(recipient.qr()).toBeVisible();
    const requestUrl = await recipient.requestUrl();
    const phone = new Authenticator(request);
    await phone.scan(requestUrl);
    await phone.present(requestUrl, tenant.employee);
    await expect(tickets.entry('Verified')).toContainText(tenant.employee, { timeout: 10_000 });
    await person.close();

    const read = await tool.read(second.id);
    expect(read.status).toBe('verified');
    expect(read.evidence.email).toBe(tenant.employee);
    expect(read.ticket).toEqual({ reference, subject: 'Laptop unlock' });

    // The endpoint's deliveries, each attempt recorded, with Redeliver.
    await webhooks.open();
    const endpoint = webhooks.endpoint('http://127.0.0.1:9/hooks');
    await expect(endpoint.getByTestId('webhook-delivery').first()).toBeVisible();
    await expect(endpoint).toContainText('no answer', { timeout: 10_000 });
    await expect(endpoint.getByRole('button', { name: /^Redeliver/ }).first()).toBeVisible();
    await endpoint.getByRole('button', { name: /^Remove/ }).click();
    await expect(page.getByTestId('webhook-endpoint')).toHaveCount(0);
  });
});

test('an agent cannot open the API keys or webhooks pages', async ({ page, browser }) => {
  await signUpNewAdmin(page);
  await expect(page.getByRole('link', { name: 'API keys' }).first()).toBeVisible();
  const team = new TeamPage(page);
  await team.open();
  const link = await team.add('Grace Agent', uniqueEmail('grace'), 'Agent');

  const grace = await browser.newContext();
  const gracePage = await grace.newPage();
  await gracePage.goto(link);
  await hydrated(gracePage);
  await gracePage.getByLabel('Choose a password').fill(PASSWORD);
  await gracePage.getByRole('button', { name: 'Set password and sign in' }).click();
  await expect(gracePage).toHaveURL(/\/organization$/);
  await expect(gracePage.getByRole('link', { name: 'API keys' })).toHaveCount(0);
  await expect(gracePage.getByRole('link', { name: 'Webhooks' })).toHaveCount(0);

  for (const path of ['/organization/api-keys', '/organization/webhooks']) {
    const response = await gracePage.goto(path);
    expect(response?.status(), path).toBe(403);
    await expect(gracePage.getByText('You must be an organization administrator in Traceless')).toBeVisible();
  }
  await grace.close();
});
