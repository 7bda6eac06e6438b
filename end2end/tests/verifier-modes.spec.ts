// Who verifies: by default the customer's own tenant and authority (every other spec); here
// Microsoft's service-provider pattern, on a second server started by scripts/test with
// TRACELESS_MS_VERIFIER=provider: Traceless's own tenant and authority make the request and
// accept only the customer's DID as issuer. Both end in "verified".
import { expect, test } from '@playwright/test';
import { signUpNewAdmin } from '../pages/accounts';
import {
  Authenticator,
  RecipientPage,
  VerificationsPage,
  connectTenant,
  personContext,
  tenantFor,
} from '../pages/verification';

const PROVIDER_BASE_URL = process.env.PROVIDER_BASE_URL;
const PROVIDER_EMULATOR_URL = process.env.PROVIDER_EMULATOR_URL;

test.use({ baseURL: PROVIDER_BASE_URL });

test('service-provider mode: our authority verifies the customer-issued credential', async ({ page, browser, request }, testInfo) => {
  test.skip(!PROVIDER_BASE_URL || !PROVIDER_EMULATOR_URL, 'scripts/test starts the provider-mode server');
  const tenant = tenantFor(testInfo);
  await signUpNewAdmin(page, `${tenant.name} Provider Desk`);
  await connectTenant(page, testInfo);

  const verifications = new VerificationsPage(page);
  await verifications.open();
  const link = await verifications.send({ email: tenant.employee });
  expect(link.startsWith(PROVIDER_BASE_URL!)).toBeTruthy();

  const person = await personContext(browser, testInfo);
  const personPage = await person.newPage();
  const recipient = new RecipientPage(personPage);
  await recipient.open(link);
  await expect(recipient.qr()).toBeVisible();
  const requestUrl = await recipient.requestUrl();
  await expect(personPage.locator('body')).toHaveAttribute('data-hydrated', 'true');

  const phone = new Authenticator(request, PROVIDER_EMULATOR_URL!.replace(/\/$/, ''));
  // The request names the provider's authority; Microsoft shows it in Authenticator.
  const info = await request.get(`${PROVIDER_EMULATOR_URL}/authenticator/api/requests/${decodeURIComponent(requestUrl).split('/').pop()}`);
  expect(await info.text()).toContain('did:web:verifiedid.traceless.example');
  await phone.present(requestUrl, tenant.employee);
  await expect(recipient.status()).toContainText("You're verified — you can close this page");
  await person.close();
});
