import { expect, test } from '@playwright/test';
import { PASSWORD, TeamPage, hydrated, signUpNewAdmin, uniqueEmail } from '../pages/accounts';
import { IntegrationsPage, MicrosoftSignIn } from '../pages/integrations';
import { tenantFor } from '../pages/verification';

test('an admin connects the tenant, sees its domains, and deletes the integration', async ({ page }, testInfo) => {
  const tenant = tenantFor(testInfo);
  await signUpNewAdmin(page, `${tenant.name} Help Desk`);
  const integrations = new IntegrationsPage(page);
  await integrations.open();
  await expect(integrations.card().getByText('Not connected')).toBeVisible();

  await integrations.connectAs(tenant.admin);

  await expect(page).toHaveURL(/\/organization\/integrations$/);
  await expect(page.getByRole('heading', { name: 'Microsoft Verified ID is active' })).toBeVisible();
  const domains = page.getByRole('list', { name: 'Covered domains' });
  await expect(domains.getByText(tenant.domain, { exact: true })).toBeVisible();
  await expect(page.getByText(`${tenant.name} (`)).toBeVisible();
  await expect(page.getByText(/Connected by/)).toBeVisible();

  await hydrated(page);
  await integrations.deleteIntegration();
  await expect(integrations.card().getByText('Not connected')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Log in to your tenant' })).toBeVisible();

  await page.goto('/organization/audit');
  await expect(page.getByRole('cell', { name: 'Removed Microsoft Verified ID' })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'Connected Microsoft Verified ID' })).toBeVisible();
});

test('cancelling at Microsoft shows the troubleshooting text, and Start again works', async ({ page }, testInfo) => {
  const tenant = tenantFor(testInfo);
  await signUpNewAdmin(page, 'Cancelling Org');
  const integrations = new IntegrationsPage(page);
  await integrations.open();
  await integrations.logIn();
  await new MicrosoftSignIn(page).cancel();

  await expect(page).toHaveURL(/\/organization\/integrations$/);
  const problem = page.getByTestId('connect-problem');
  await expect(problem).toContainText('declined at Microsoft');
  await expect(problem).toContainText('The handoff back to Traceless can fail if the session was interrupted');

  await hydrated(page);
  await problem.getByRole('button', { name: 'Start again' }).click();
  const microsoft = new MicrosoftSignIn(page);
  await microsoft.choose(tenant.admin);
  await microsoft.cancel();
  await expect(page.getByTestId('connect-problem')).toBeVisible();
});

test('an agent sees the card without the button, and the ask-your-admin text', async ({ page, browser }) => {
  await signUpNewAdmin(page, 'Agents Org');
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

  await gracePage.goto('/organization/integrations');
  await expect(gracePage.getByText('You must be an organization administrator in Traceless to connect integrations.')).toBeVisible();
  await expect(gracePage.getByRole('button', { name: 'Log in to your tenant' })).toHaveCount(0);
  await expect(gracePage.getByRole('link', { name: 'Setup Instructions' })).toBeVisible();
  await grace.close();
});

// Tenants that offer more than one credential: the admin picks on the card.
const choosers = {
  desktop: {
    admin: /allan\.deyoung@woodgrovebank\.com/,
    name: 'Woodgrove',
    option: 'option-did:web:verifiedid.woodgrovebank.com',
    type: 'VerifiedEmployee',
    claim: 'mail',
  },
  phone: {
    admin: /kayo\.miwa@tailspintoys\.com/,
    name: 'Tailspin',
    option: 'option-did:web:verifiedid.tailspintoys.com',
    type: 'TailspinMember',
    claim: 'email',
  },
} as const;

test('a tenant with several authorities or credential types asks the admin to choose', async ({ page }, testInfo) => {
  const tenant = choosers[testInfo.project.name as keyof typeof choosers];
  await signUpNewAdmin(page, `${tenant.name} Help Desk`);
  const integrations = new IntegrationsPage(page);
  await integrations.open();
  await integrations.connectAs(tenant.admin);

  await expect(page).toHaveURL(/\/organization\/integrations$/);
  const choice = page.getByTestId('choose-credential');
  await expect(choice.getByRole('heading', { name: 'Choose the credential Traceless asks for' })).toBeVisible();
  await expect(integrations.card().getByText('Choice needed')).toBeVisible();
  await hydrated(page);
  // Woodgrove offers the same type from two authorities, Tailspin two types from one.
  const option = choice.getByRole('radio', { name: new RegExp(`^${tenant.type}`) });
  if (tenant.name === 'Woodgrove') {
    await choice.getByTestId(tenant.option).check();
  } else {
    await option.check();
  }
  await expect(choice.getByLabel("Claim that holds the person's email address")).toHaveValue(tenant.claim);
  await choice.getByRole('button', { name: 'Use this credential' }).click();

  await expect(page.getByRole('heading', { name: 'Microsoft Verified ID is active' })).toBeVisible();
  await expect(page.getByTestId('email-claim')).toHaveText(tenant.claim);
  await expect(page.getByTestId('credential-type')).toHaveText(tenant.type);
  await expect(page.getByTestId('choose-credential')).toHaveCount(0);
});

test('an authority whose linked domain is not verified is connected but not active', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== 'desktop', 'Litware can be connected to one organization at a time');
  await signUpNewAdmin(page, 'Litware Help Desk');
  const integrations = new IntegrationsPage(page);
  await integrations.open();
  await integrations.connectAs(/henrietta\.mueller@litware\.com/);

  await expect(page.getByRole('heading', { name: 'Microsoft Verified ID is connected but not active' })).toBeVisible();
  await expect(page.getByTestId('linked-domain-unverified')).toContainText('not verified');
  await expect(integrations.card().getByText('Not active', { exact: true })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Log in to your tenant again' })).toBeVisible();
});
