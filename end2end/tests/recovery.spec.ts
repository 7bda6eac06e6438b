// Account recovery (issue 21): an admin enables it (consent for the recovery app at the
// emulator's Microsoft), an agent sends a verification with "Then issue a Temporary Access
// Pass", the person verifies with Face Check and sees the pass exactly once on their page; the
// agent's page says only that one was issued. A privileged account is refused with its reason.
import type { APIRequestContext, Page } from '@playwright/test';
import { expect, test } from '../fixtures';
import { hydrated } from '../pages/accounts';
import { MicrosoftSignIn } from '../pages/integrations';
import { MailboxPage } from '../pages/tickets';
import {
  AgentVerificationPage,
  Authenticator,
  EMULATOR_URL,
  RecipientPage,
  VerificationsPage,
  personContext,
  type Tenant,
} from '../pages/verification';

const TENANT_IDS: Record<string, string> = {
  Contoso: '84841066-274d-4ec0-a5c1-276be684bdd3',
  Fabrikam: 'a7f3d2c1-5b6e-4f8a-9c0d-1e2f3a4b5c6d',
};

/** Face Check on, as the admin sets it on the verification settings form. */
async function faceCheckOn(page: Page) {
  const response = await page.request.post('/api/update_verification_settings', {
    form: { link_lifetime_hours: '48', face_check_threshold: '70' },
    headers: { Accept: 'application/json' },
  });
  expect(response.ok()).toBeTruthy();
}

/** The tenant's Temporary Access Pass policy on for everyone (the emulator's test control). */
async function tapPolicyOn(request: APIRequestContext, tenant: Tenant) {
  const response = await request.put(`${EMULATOR_URL}/_control/tenants/${TENANT_IDS[tenant.name]}/temporary_access_pass_policy`, {
    data: { enabled: true, minimum_lifetime_in_minutes: 10, maximum_lifetime_in_minutes: 480 },
  });
  expect(response.status()).toBe(204);
}

/** On the Integrations page: "Enable account recovery", accepted at Microsoft by the tenant's admin. */
async function enableRecovery(page: Page, tenant: Tenant) {
  await page.goto('/organization/integrations');
  const card = page.getByTestId('recovery-card');
  await expect(card.getByTestId('recovery-state')).toContainText('Off');
  await card.getByRole('button', { name: 'Enable account recovery' }).click();
  const microsoft = new MicrosoftSignIn(page);
  await microsoft.choose(tenant.admin);
  await microsoft.accept();
  await expect(page).toHaveURL(/\/organization\/integrations\?recovery=enabled$/);
  await expect(page.getByText('Account recovery is on.')).toBeVisible();
  await expect(page.getByTestId('recovery-card').getByTestId('recovery-state')).toContainText('On');
}

/** Sends a verification with recovery to `email`; returns the link. */
/** Sends with recovery, then opens the agent's page of it; returns the person's link, read
 *  from their mail in the development mailbox: the agent's page never shows it. */
async function sendWithRecovery(page: Page, email: string) {
  const verifications = new VerificationsPage(page);
  await verifications.open();
  await page.getByLabel('Then issue a Temporary Access Pass').check();
  await verifications.submit({ email, ticket: 'HD-2001' });
  await expect(page.getByTestId('link-mailed-only')).toContainText(email);
  await expect(page.getByTestId('verification-link')).toHaveCount(0);
  const detail = await page.getByRole('link', { name: 'Follow this verification' }).getAttribute('href');
  const mailbox = new MailboxPage(page);
  await mailbox.open();
  const link = await mailbox.linkIn(email, /asks you to verify your identity/);
  await page.goto(detail!);
  await hydrated(page);
  return link;
}

test('the verified person sees their Temporary Access Pass once; the agent only that it was issued', async ({ page, browser, request, connectedAdmin }, testInfo) => {
  const { tenant } = connectedAdmin;
  await faceCheckOn(page);
  await enableRecovery(page, tenant);
  await tapPolicyOn(request, tenant);
  const link = await sendWithRecovery(page, tenant.employee);
  const agent = new AgentVerificationPage(page);

  const person = await personContext(browser, testInfo);
  const personPage = await person.newPage();
  const recipient = new RecipientPage(personPage);
  await recipient.open(link);
  await expect(recipient.qr()).toBeVisible();
  await expect(personPage.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await new Authenticator(request).present(await recipient.requestUrl(), tenant.employee);
  await expect(recipient.status()).toContainText("You're verified");

  // A reload before pressing the button does not lose the offer.
  await personPage.reload();
  await expect(personPage.getByRole('heading', { name: "You're verified" })).toBeVisible();
  await personPage.getByRole('button', { name: 'Show my Temporary Access Pass' }).click();
  const pass = personPage.getByTestId('pass-value');
  await expect(pass).toBeVisible();
  const shown = (await pass.textContent())?.trim() ?? '';
  expect(shown.length).toBeGreaterThanOrEqual(8);
  await expect(personPage.getByRole('button', { name: 'Copy pass' })).toBeVisible();
  await expect(personPage.getByRole('link', { name: 'aka.ms/mysecurityinfo' })).toBeVisible();

  // A reload shows no pass again.
  await personPage.reload();
  await expect(personPage.getByTestId('pass-value')).toHaveCount(0);
  await expect(personPage.getByText(shown)).toHaveCount(0);

  // The agent's page, open all along, follows by itself (no reload).
  const status = page.getByTestId('recovery-status');
  await expect(status).toHaveAttribute('data-state', 'issued');
  await expect(status).toContainText('A Temporary Access Pass was issued to the person, valid until');
  await expect(page.getByText(shown)).toHaveCount(0);
  await expect(agent.status()).toHaveText('Verified');
  await person.close();
});

test('a privileged account is refused with its reason, and the person reads a plain sentence', async ({ page, browser, request, connectedAdmin }, testInfo) => {
  const { tenant } = connectedAdmin;
  await faceCheckOn(page);
  await enableRecovery(page, tenant);
  await tapPolicyOn(request, tenant);
  // The tenant's administrator, who holds a directory role and a credential.
  const admin = tenant.name === 'Contoso' ? 'adele.vance@contoso.com' : 'diego.siciliani@fabrikam.com';
  const link = await sendWithRecovery(page, admin);

  const person = await personContext(browser, testInfo);
  const personPage = await person.newPage();
  const recipient = new RecipientPage(personPage);
  await recipient.open(link);
  await expect(recipient.qr()).toBeVisible();
  await expect(personPage.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await new Authenticator(request).present(await recipient.requestUrl(), admin);
  await expect(recipient.status()).toContainText("You're verified");
  await personPage.getByRole('button', { name: 'Show my Temporary Access Pass' }).click();
  await expect(personPage.getByText('We could not give you a Temporary Access Pass here.')).toBeVisible();

  // The agent's page, open all along, follows by itself (no reload).
  const status = page.getByTestId('recovery-status');
  await expect(status).toHaveAttribute('data-reason', 'privileged_user');
  await expect(status).toContainText('holds a directory role');
  await person.close();
});
