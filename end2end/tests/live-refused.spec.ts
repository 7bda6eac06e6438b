// Open event streams are bounded (too many from one address: 429 with Retry-After), and a
// page whose stream was refused connects again by itself and misses nothing. The refusal is
// played by the browser's network layer (the server's own limit is covered by the
// integration suite), exactly as the server answers it.
import { expect, test } from '../fixtures';
import {
  Authenticator,
  RecipientPage,
  VerificationsPage,
  personContext,
} from '../pages/verification';

test("a person's page whose stream was refused as too many connects again by itself", async ({ page, browser, request, connectedAdmin }, testInfo) => {
  const { tenant } = connectedAdmin;
  const verifications = new VerificationsPage(page);
  await verifications.open();
  const link = await verifications.send({ email: tenant.employee, ticket: '', note: '' });

  const person = await personContext(browser, testInfo);
  const personPage = await person.newPage();
  // The first two tries at the stream (the page's own and the browser's) are refused as
  // the server refuses a client holding its share of streams.
  let refused = 0;
  await personPage.route('**/verify/*/events*', async (route) => {
    if (route.request().method() === 'GET' && refused < 2) {
      refused += 1;
      await route.fulfill({
        status: 429,
        headers: { 'Retry-After': '1', 'Content-Type': 'text/plain; charset=utf-8' },
        body: 'Too many live pages are open from here. Close some and this one connects by itself.',
      });
      return;
    }
    await route.continue();
  });
  const recipient = new RecipientPage(personPage);
  await recipient.open(link);
  await expect(personPage.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect.poll(() => refused).toBeGreaterThanOrEqual(1);
  const requestUrl = await recipient.requestUrl();

  // Something happens while the page may still be waiting out the refusal.
  const phone = new Authenticator(request);
  await phone.scan(requestUrl);
  await expect(recipient.status()).toContainText('Scanned: finish in Authenticator', { timeout: 15_000 });
  await phone.present(requestUrl, tenant.employee);
  await expect(recipient.status()).toContainText("You're verified — you can close this page", { timeout: 5_000 });
  await person.close();
});
