// Where the credential's email comes from (issue 22): a tenant whose credential's email is an ID
// token hint connects "not active"; the card says why, warns, and asks for an explicit choice;
// once accepted, each verification's evidence names the email source.
import { expect, test } from '@playwright/test';
import { hydrated, signUpNewAdmin } from '../pages/accounts';
import { IntegrationsPage } from '../pages/integrations';
import {
  AgentVerificationPage,
  Authenticator,
  RecipientPage,
  VerificationsPage,
  disconnectTenant,
  personContext,
} from '../pages/verification';

const WINGTIP_ADMIN = /ben\.walters@wingtiptoys\.com/;
const WINGTIP_EMPLOYEE = 'cecil.folk@wingtiptoys.com';
const WARNING = 'this email is not checked against your directory: anyone who can get this credential can claim any address';

test.afterEach(async ({ page }) => {
  await disconnectTenant(page);
});

test('an email not from the directory needs the warning ticked, and the evidence names its source', async ({ page, browser, request }, testInfo) => {
  await signUpNewAdmin(page, 'Wingtip Help Desk');
  const integrations = new IntegrationsPage(page);
  await integrations.open();
  await integrations.connectAs(WINGTIP_ADMIN);

  await expect(page).toHaveURL(/\/organization\/integrations$/);
  await expect(page.getByRole('heading', { name: 'Microsoft Verified ID is connected but not active' })).toBeVisible();
  await expect(page.getByTestId('email-source')).toContainText('ID token hint');
  const notice = page.getByTestId('email-not-from-directory');
  await expect(notice).toContainText('not checked against your directory');
  await expect(notice).toContainText('issue the VerifiedEmployee credential');
  const choice = page.getByTestId('accept-unchecked-email');
  await expect(choice.getByTestId('unchecked-email-warning')).toContainText(WARNING);

  // Without ticking the warning: refused, still not active.
  await hydrated(page);
  await choice.getByRole('button', { name: 'Use this email anyway' }).click();
  await expect(choice.getByRole('alert').last()).toContainText('To use it anyway, confirm that you accept this');
  await expect(page.getByRole('heading', { name: 'Microsoft Verified ID is connected but not active' })).toBeVisible();

  await choice.getByRole('checkbox').check();
  await choice.getByRole('button', { name: 'Use this email anyway' }).click();
  await expect(page.getByRole('heading', { name: 'Microsoft Verified ID is active' })).toBeVisible();
  await expect(page.getByTestId('email-source')).toContainText('Accepted by an administrator');

  await page.goto('/organization/audit');
  await expect(page.getByRole('cell', { name: 'Accepted an email that is not checked against the directory' })).toBeVisible();

  const verifications = new VerificationsPage(page);
  await verifications.open();
  const link = await verifications.send({ email: WINGTIP_EMPLOYEE });
  await verifications.follow();
  const person = await personContext(browser, testInfo);
  const recipient = new RecipientPage(await person.newPage());
  await recipient.open(link);
  const phone = new Authenticator(request);
  await phone.present(await recipient.requestUrl(), WINGTIP_EMPLOYEE);
  await expect(new AgentVerificationPage(page).status()).toHaveText('Verified', { timeout: 5_000 });
  await expect(page.getByTestId('evidence-email-source')).toContainText('not checked against your directory');
  await person.close();
});
