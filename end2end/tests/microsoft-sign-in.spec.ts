// "Sign in with Microsoft": a teammate of an organization whose tenant is connected signs in
// with their work account through Microsoft's (the emulator's) account picker.
import { expect, test } from '../fixtures';
import { PASSWORD, TeamPage, hydrated } from '../pages/accounts';
import { MicrosoftSignIn } from '../pages/integrations';
import { personContext } from '../pages/verification';

test('a teammate signs in with Microsoft through the account picker', async ({ page, browser, connectedAdmin }, testInfo) => {
  const { tenant } = connectedAdmin;
  const team = new TeamPage(page);
  await team.open();
  const link = await team.add('Tenant Employee', tenant.employee, 'Agent');

  const context = await personContext(browser, testInfo);
  const teammate = await context.newPage();
  await teammate.goto(link);
  await hydrated(teammate);
  await teammate.getByLabel('Choose a password').fill(PASSWORD);
  await teammate.getByRole('button', { name: 'Set password and sign in' }).click();
  await expect(teammate).toHaveURL(/\/organization$/);
  await teammate.getByRole('button', { name: 'Sign out' }).click();
  await expect(teammate).toHaveURL(/\/signin/);

  await hydrated(teammate);
  await teammate.getByRole('link', { name: 'Sign in with Microsoft' }).click();
  const microsoft = new MicrosoftSignIn(teammate);
  await microsoft.choose(new RegExp(tenant.employee.replace(/\./g, '\\.')));
  await microsoft.accept();

  await expect(teammate).toHaveURL(/\/organization$/);
  await expect(teammate.getByRole('heading', { name: 'Welcome, Tenant Employee' })).toBeVisible();
  await expect(teammate.getByText(`You are signed in as ${tenant.employee}`)).toBeVisible();
  await context.close();
});

test('a Microsoft account that is not a member is told so and stays signed out', async ({ browser, connectedAdmin }, testInfo) => {
  const { tenant } = connectedAdmin;
  const context = await personContext(browser, testInfo);
  const stranger = await context.newPage();
  await stranger.goto('/signin');
  await hydrated(stranger);
  await stranger.getByRole('link', { name: 'Sign in with Microsoft' }).click();
  const microsoft = new MicrosoftSignIn(stranger);
  // The tenant's admin has no Traceless account in this organization (the admin signed up with
  // another address).
  await microsoft.choose(tenant.admin);
  await microsoft.accept();

  await expect(stranger.getByRole('heading', { name: 'You are not signed in' })).toBeVisible();
  await expect(stranger.getByRole('alert')).toContainText("This Microsoft account isn't a member of");
  await stranger.getByRole('link', { name: 'Back to sign in' }).click();
  await expect(stranger).toHaveURL(/\/signin$/);
  await context.close();
});
