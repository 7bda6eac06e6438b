// Verify a person with Microsoft Verified ID: the agent sends a link, the person opens it in
// another browser, their phone (the emulator's Authenticator) scans and presents, and both
// pages follow along live.
import { expect, test } from '../fixtures';
import {
  AgentVerificationPage,
  Authenticator,
  RecipientPage,
  VerificationsPage,
  personContext,
} from '../pages/verification';

const EXPIRED = 'This verification link is expired';

test('a person verifies with Authenticator; both pages update live; the link then expires', async ({ page, browser, request, connectedAdmin }, testInfo) => {
  const { tenant } = connectedAdmin;
  const verifications = new VerificationsPage(page);
  await verifications.open();
  const link = await verifications.send({ email: tenant.employee, ticket: 'HD-1042', note: 'Password reset' });
  expect(link).toMatch(/\/verify\/[A-Za-z0-9_-]+$/);
  await verifications.follow();
  const agent = new AgentVerificationPage(page);
  await expect(agent.status()).toHaveText('Link sent');

  const person = await personContext(browser, testInfo);
  const personPage = await person.newPage();
  const recipient = new RecipientPage(personPage);
  const response = await recipient.open(link);
  expect(response?.status()).toBe(200);
  await expect(personPage.getByTestId('asked-by')).toContainText(`asks you to confirm you are ${tenant.employee}`);
  await expect(personPage.getByText('HD-1042')).toBeVisible();
  await expect(recipient.qr()).toBeVisible();
  await expect(recipient.qr().locator('svg')).toBeVisible();
  await expect(recipient.deepLink()).toBeVisible();
  await expect(recipient.status()).toContainText('Scan the QR code with Microsoft Authenticator');
  const requestUrl = await recipient.requestUrl();
  await expect(personPage.locator('body')).toHaveAttribute('data-hydrated', 'true');

  const phone = new Authenticator(request);
  await phone.scan(requestUrl);
  await expect(recipient.status()).toContainText('Scanned: finish in Authenticator', { timeout: 5_000 });
  await expect(agent.status()).toHaveText('Scanned', { timeout: 5_000 });

  await phone.present(requestUrl, tenant.employee);
  await expect(recipient.status()).toContainText("You're verified — you can close this page", { timeout: 3_000 });
  await expect(agent.status()).toHaveText('Verified', { timeout: 3_000 });
  await expect(page.getByTestId('evidence')).toContainText(tenant.employee);
  await expect(agent.timeline()).toContainText(/verified/i);
  await expect(page.getByRole('button', { name: 'Cancel verification' })).toHaveCount(0);

  const again = await recipient.open(link);
  expect(again?.status()).toBe(410);
  await expect(personPage.getByRole('heading', { name: EXPIRED })).toBeVisible();
  await expect(personPage.getByText('Ask the person who sent it to start a new verification.')).toBeVisible();
  await expect(personPage.getByText(tenant.employee)).toHaveCount(0);

  await verifications.open();
  await expect(verifications.item(tenant.employee).getByTestId('status-pill')).toHaveText('Verified');
  await person.close();
});

test("another person's credential fails with the reason on both pages", async ({ page, browser, request, connectedAdmin }, testInfo) => {
  const { tenant } = connectedAdmin;
  const verifications = new VerificationsPage(page);
  await verifications.open();
  const link = await verifications.send({ email: tenant.employee });
  await verifications.follow();

  const person = await personContext(browser, testInfo);
  const personPage = await person.newPage();
  const recipient = new RecipientPage(personPage);
  await recipient.open(link);
  await expect(recipient.qr()).toBeVisible();
  await expect(personPage.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const requestUrl = await recipient.requestUrl();

  await new Authenticator(request).present(requestUrl, tenant.other);
  await expect(recipient.status()).toContainText('We could not verify you');
  await expect(recipient.status()).toContainText('for a different email address');
  await expect(recipient.status()).toContainText('You cannot try again with this link');
  await expect(recipient.qr()).toHaveCount(0);

  const agent = new AgentVerificationPage(page);
  await expect(agent.status()).toHaveText('Failed');
  await expect(page.getByTestId('mismatch')).toContainText('Identity mismatch');
  await expect(page.getByTestId('failure')).toContainText('They presented a credential for a different email');
  await expect(page.getByTestId('evidence').locator('[data-passed="false"]').first()).toBeVisible();
  await person.close();
});

test('an email outside the connected domains is refused at start', async ({ page, connectedAdmin }) => {
  const verifications = new VerificationsPage(page);
  await verifications.open();
  await verifications.submit({ email: 'someone@example.org' });
  await expect(verifications.emailError()).toContainText(
    'is not among the domains tied to the Microsoft tenant you connected',
  );
  await expect(page.getByTestId('verification-link')).toHaveCount(0);
});

test('after Authenticator reports an error, Try again shows a new QR code that works', async ({ page, browser, request, connectedAdmin }, testInfo) => {
  const { tenant } = connectedAdmin;
  const verifications = new VerificationsPage(page);
  await verifications.open();
  const link = await verifications.send({ email: tenant.employee });

  const person = await personContext(browser, testInfo);
  const personPage = await person.newPage();
  const recipient = new RecipientPage(personPage);
  await recipient.open(link);
  await expect(recipient.qr()).toBeVisible();
  await expect(personPage.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const first = await recipient.requestUrl();

  const phone = new Authenticator(request);
  await phone.reportError(first);
  await expect(recipient.status()).toContainText('Microsoft Authenticator reported an error.');
  await expect(recipient.status()).toContainText('You can try again');
  await recipient.tryAgain();
  await expect(recipient.qr()).toBeVisible();
  await expect(recipient.status()).toContainText('Scan the QR code with Microsoft Authenticator');
  const second = await recipient.requestUrl();
  expect(second).not.toBe(first);

  await phone.present(second, tenant.employee);
  await expect(recipient.status()).toContainText("You're verified — you can close this page");
  await person.close();
});

test('before the QR code expires, a fresh one appears by itself and works', async ({ page, browser, request, connectedAdmin }, testInfo) => {
  const { tenant } = connectedAdmin;
  const verifications = new VerificationsPage(page);
  await verifications.open();
  const link = await verifications.send({ email: tenant.employee });

  const person = await personContext(browser, testInfo);
  const personPage = await person.newPage();
  // The browser's clock is ours to move: Microsoft's five minutes pass in an instant.
  await personPage.clock.install();
  const recipient = new RecipientPage(personPage);
  await recipient.open(link);
  await expect(recipient.qr()).toBeVisible();
  await expect(personPage.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await recipient.clockRunning();
  const first = await recipient.requestUrl();
  const firstRequest = await recipient.qr().getAttribute('data-request');

  const phone = new Authenticator(request);
  await phone.expire(first);
  await personPage.clock.fastForward('04:45');
  await expect(recipient.qr()).not.toHaveAttribute('data-request', firstRequest!);
  const second = await recipient.requestUrl();
  expect(second).not.toBe(first);

  await phone.present(second, tenant.employee);
  await expect(recipient.status()).toContainText("You're verified — you can close this page");
  await person.close();
});

test('when the code runs out after a scan, the person can bring the QR code back', async ({ page, browser, request, connectedAdmin }, testInfo) => {
  const { tenant } = connectedAdmin;
  const verifications = new VerificationsPage(page);
  await verifications.open();
  const link = await verifications.send({ email: tenant.employee });

  const person = await personContext(browser, testInfo);
  const personPage = await person.newPage();
  await personPage.clock.install();
  const recipient = new RecipientPage(personPage);
  await recipient.open(link);
  await expect(recipient.qr()).toBeVisible();
  await recipient.clockRunning();
  const first = await recipient.requestUrl();

  await new Authenticator(request).scan(first);
  await expect(recipient.status()).toContainText('Scanned: finish in Authenticator');
  await expect(recipient.qr()).toHaveCount(0);
  await expect(personPage.getByRole('button', { name: 'Get a new code' })).toHaveCount(0);
  // Only the browser's clock moves here, so the server still holds a valid request and
  // hands it back; with real time passing it makes a new one.
  await personPage.clock.fastForward('05:05');
  await personPage.getByRole('button', { name: 'Get a new code' }).click();
  await expect(recipient.qr()).toBeVisible();
  await expect(recipient.status()).toContainText('Scan the QR code with Microsoft Authenticator');
  await person.close();
});

test('while Microsoft is down the person is told so, and the page recovers by itself', async ({ page, browser, request, connectedAdmin }, testInfo) => {
  const { tenant } = connectedAdmin;
  const verifications = new VerificationsPage(page);
  await verifications.open();
  const link = await verifications.send({ email: tenant.employee });

  const phone = new Authenticator(request);
  await phone.outage();
  const person = await personContext(browser, testInfo);
  const personPage = await person.newPage();
  const recipient = new RecipientPage(personPage);
  try {
    await recipient.open(link);
    const notice = personPage.getByTestId('microsoft-not-answering');
    await expect(notice.getByRole('heading', { name: 'Microsoft is not answering' })).toBeVisible();
    await expect(notice).toContainText('Your link still works');
    await expect(personPage.locator('body')).toHaveAttribute('data-hydrated', 'true');
    await expect(notice).toContainText(/Trying again in \d+ seconds/);
  } finally {
    await phone.recover();
  }
  // No reload by the person: the countdown asks again and the QR code appears.
  await expect(recipient.qr()).toBeVisible({ timeout: 30_000 });
  await phone.present(await recipient.requestUrl(), tenant.employee);
  await expect(recipient.status()).toContainText("You're verified — you can close this page");
  await person.close();
});
