// Issue 17, point 9: "Refresh from Microsoft". A domain that left the Microsoft tenant stops
// being covered, and the card says so. Proseware's authority listing also leaves out
// `linkedDomainsVerified` (point 1): the connection is still active.
import { expect, test } from '@playwright/test';
import { hydrated, signUpNewAdmin } from '../pages/accounts';
import { IntegrationsPage, MicrosoftSignIn } from '../pages/integrations';
import { EMULATOR_URL } from '../pages/verification';

// microsoft-emulator/src/seed.rs
const PROSEWARE_TENANT_ID = 'ab6c3f9d-2e85-4c7a-9b1e-7d9f1a3c5e66';
const LEAVING_DOMAIN = 'proseware.net';

test('a domain that left the tenant is no longer covered after Refresh from Microsoft, and the card says so', async ({ page, request }, testInfo) => {
  // A tenant belongs to one organization at a time, and the suite's emulator is shared.
  test.skip(testInfo.project.name !== 'desktop', 'Proseware is connected once per run');
  await signUpNewAdmin(page, 'Proseware Help Desk');
  const integrations = new IntegrationsPage(page);
  await integrations.open();
  await integrations.logIn();
  const microsoft = new MicrosoftSignIn(page);
  await microsoft.choose(/bianca\.pisani@proseware\.com/);
  await microsoft.accept();

  await expect(page).toHaveURL(/\/organization\/integrations$/);
  await expect(page.getByRole('heading', { name: 'Microsoft Verified ID is active' })).toBeVisible();
  const domains = page.getByRole('list', { name: 'Covered domains' });
  await expect(domains.getByText(LEAVING_DOMAIN, { exact: true })).toBeVisible();
  await expect(page.getByTestId('last-confirmed')).toContainText('Last confirmed with Microsoft on');

  // An administrator removes the domain from the tenant in Entra.
  const removed = await request.delete(`${EMULATOR_URL}/_control/tenants/${PROSEWARE_TENANT_ID}/domains/${LEAVING_DOMAIN}`);
  expect(removed.status()).toBe(204);

  await hydrated(page);
  await integrations.refresh();
  const notice = page.getByTestId('domains-removed');
  await expect(notice).toContainText(`Microsoft no longer lists ${LEAVING_DOMAIN} for your tenant.`);
  await expect(notice).toContainText('new verifications to them are refused');
  await expect(domains.getByText(LEAVING_DOMAIN, { exact: true })).toHaveCount(0);
  await expect(domains.getByText('proseware.com', { exact: true })).toBeVisible();
  await expect(page.getByTestId('refresh-problem')).toHaveCount(0);

  await page.goto('/organization/audit');
  await expect(page.getByRole('cell', { name: 'Refreshed Microsoft Verified ID from Microsoft' })).toBeVisible();
});

// The authority and its credential types are re-read with the sign-in Traceless kept (sealed).
// When Microsoft no longer honours it, the card keeps the last known state and asks an
// administrator to sign in again; signing in re-reads everything and keeps a new sign-in.
const ALPINE_TENANT_ID = 'e5a7c9d1-4f6b-4dae-8a5c-7e9a1c3f5b05';
const ALPINE_ADMIN = 'gia.ruiz@alpineskihouse.com';

test('a sign-in Microsoft revoked: the card asks to sign in again, and signing in again re-reads the authority', async ({ page, request }, testInfo) => {
  test.skip(testInfo.project.name !== 'desktop', 'Alpine Ski House is connected once per run');
  await signUpNewAdmin(page, 'Alpine Help Desk');
  const integrations = new IntegrationsPage(page);
  await integrations.open();
  await integrations.logIn();
  const microsoft = new MicrosoftSignIn(page);
  await microsoft.choose(/gia\.ruiz@alpineskihouse\.com/);
  await microsoft.accept();
  await expect(page.getByRole('heading', { name: 'Microsoft Verified ID is active' })).toBeVisible();
  await expect(page.getByTestId('last-confirmed')).toContainText('Verified ID authority and credential types from Microsoft every day');

  // An administrator revokes Gia's sessions in Entra (Graph revokeSignInSessions).
  const revoked = await request.post(`${EMULATOR_URL}/_control/tenants/${ALPINE_TENANT_ID}/users/${ALPINE_ADMIN}/revoke_sign_in_sessions`);
  expect(revoked.status()).toBe(204);

  await hydrated(page);
  await integrations.refresh();
  const notice = page.getByTestId('authority-sign-in-needed');
  await expect(notice).toContainText('Last confirmed with Microsoft on');
  await expect(notice).toContainText('Sign in again to re-read the authority.');
  await expect(page.getByRole('heading', { name: 'Microsoft Verified ID is active' })).toBeVisible();

  await notice.getByRole('button', { name: 'Sign in again' }).click();
  await expect(page).toHaveURL(/prompt=select_account/);
  await microsoft.choose(/gia\.ruiz@alpineskihouse\.com/);
  await microsoft.accept();

  await expect(page).toHaveURL(/\/organization\/integrations$/);
  await expect(page.getByRole('heading', { name: 'Microsoft Verified ID is active' })).toBeVisible();
  await expect(page.getByTestId('authority-sign-in-needed')).toHaveCount(0);
  await expect(page.getByTestId('last-confirmed')).toContainText('Verified ID authority and credential types from Microsoft every day');
});
