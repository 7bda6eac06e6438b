import { expect, test } from '@playwright/test';
import { hydrated, signUpNewAdmin } from '../pages/accounts';
import { IntegrationsPage, MicrosoftSignIn } from '../pages/integrations';
import { EMULATOR_URL, disconnectTenant, tenantFor } from '../pages/verification';

// Who may connect (a Privileged Role Administrator consents, a Global Reader reads, an
// Application Administrator may not grant a Microsoft Graph application permission) and a
// consent that takes a moment to reach Microsoft's token endpoint.

test.afterEach(async ({ page, request }, testInfo) => {
  // Consents given from now on propagate at once again, and the tenant is free for the next test.
  await request.post(`${EMULATOR_URL}/_control/consent_propagation`, { data: { service_principal_ms: 0, roles_ms: 0 } });
  if (testInfo.status !== 'skipped') await disconnectTenant(page);
});

test('a Privileged Role Administrator consents, then a Global Reader signs in with another account', async ({ page }, testInfo) => {
  // The demo tenant with these roles is Contoso, the desktop project's tenant.
  test.skip(testInfo.project.name !== 'desktop', 'Contoso holds the role accounts');
  await signUpNewAdmin(page, 'Roles Help Desk');
  const integrations = new IntegrationsPage(page);
  await integrations.open();
  await integrations.connectAs(/lynne\.robbins@contoso\.com/);

  await expect(page).toHaveURL(/\/organization\/integrations$/);
  const problem = page.getByTestId('connect-problem');
  await expect(problem).toHaveAttribute('data-code', 'admin_api_role_missing');
  await expect(problem).toContainText('Global Administrator, Authentication Policy Administrator or Global Reader');
  await hydrated(page);

  await problem.getByRole('button', { name: 'Sign in with another account' }).click();
  // Microsoft's account picker, even though Lynne is signed in there.
  await expect(page).toHaveURL(/prompt=select_account/);
  const microsoft = new MicrosoftSignIn(page);
  await microsoft.choose(/enrico\.cattaneo@contoso\.com/);
  await microsoft.accept();

  await expect(page.getByRole('heading', { name: 'Microsoft Verified ID is active' })).toBeVisible();
  await expect(page.getByText(/enrico\.cattaneo@contoso\.onmicrosoft\.com/)).toBeVisible();
});

test('an Application Administrator is refused at the consent and told which roles may grant it', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== 'desktop', 'Contoso holds the role accounts');
  await signUpNewAdmin(page, 'App Admin Help Desk');
  const integrations = new IntegrationsPage(page);
  await integrations.open();
  await integrations.connectAs(/debra\.berger@contoso\.com/);

  await expect(page).toHaveURL(/\/organization\/integrations$/);
  const problem = page.getByTestId('connect-problem');
  await expect(problem).toHaveAttribute('data-code', 'needs_administrator');
  await expect(problem).toContainText('Global Administrator or Privileged Role Administrator');
  await expect(problem).toContainText('Microsoft Graph application permission');
  await expect(page.getByRole('heading', { name: 'Microsoft Verified ID is active' })).toHaveCount(0);
});

test('the browser waits while Microsoft finishes the consent, then moves on by itself', async ({ page, request }, testInfo) => {
  const tenant = tenantFor(testInfo);
  await signUpNewAdmin(page, `${tenant.name} Waiting Desk`);
  // For 3 s after consent, Microsoft issues app tokens without the role.
  const set = await request.post(`${EMULATOR_URL}/_control/consent_propagation`, { data: { roles_ms: 3000 } });
  expect(set.status()).toBe(204);

  const integrations = new IntegrationsPage(page);
  await integrations.open();
  await integrations.connectAs(tenant.admin);

  const waiting = page.getByRole('heading', { name: 'Microsoft is finishing your consent' });
  await expect(waiting).toBeVisible();
  await expect(page).toHaveURL(/\/organization\/integrations\/microsoft\/finishing$/);
  await expect(page.getByRole('status')).toContainText('checks again by itself');
  // Fits the screen (the phone project included): nothing to scroll sideways.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);

  // No click: the page reloads itself until Microsoft has the consent, then shows the card.
  await expect(page.getByRole('heading', { name: 'Microsoft Verified ID is active' })).toBeVisible({ timeout: 30_000 });
  await expect(page).toHaveURL(/\/organization\/integrations$/);
});
