// Two-step verification, desktop and phone: turn it on with a code computed here, sign out,
// sign in with a code; an organization that requires it sends a member without it to set it up.
import { expect, test } from '@playwright/test';
import {
  PASSWORD,
  SignInPage,
  TeamPage,
  hydrated,
  signUpNewAdmin,
  uniqueEmail,
} from '../pages/accounts';
import { TwoStepPage, enterCode } from '../pages/two-step';

test('turn on two-step verification, sign out, and sign in with a code from the app', async ({ page }) => {
  const email = await signUpNewAdmin(page, 'Two Step Org');
  const twoStep = new TwoStepPage(page);
  await twoStep.open();
  const { secret } = await twoStep.turnOn();
  await expect(page.getByText('Two-step verification is on.')).toBeVisible();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/signin/);
  const signIn = new SignInPage(page);
  await hydrated(page);
  await signIn.submit(email, PASSWORD);
  await enterCode(page, secret);
  await expect(page).toHaveURL(/\/organization$/);
  await expect(page.getByRole('heading', { name: 'Welcome, Ada Admin' })).toBeVisible();

  await page.goto('/organization/audit');
  await expect(page.getByRole('cell', { name: 'Turned on two-step verification' })).toBeVisible();
  await page.getByLabel('Kind').selectOption({ label: 'Signed in' });
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/kind=sign_in\.succeeded/);
  await expect(page.getByRole('cell', { name: 'Turned on two-step verification' })).toHaveCount(0);
  await expect(page.getByRole('cell', { name: /with a password and an authenticator code/ })).toBeVisible();
});

test('a required organization sends a member without two-step verification to set it up', async ({ page, browser }) => {
  await signUpNewAdmin(page, 'Required Org');
  const twoStep = new TwoStepPage(page);
  await twoStep.open();
  await twoStep.turnOn();

  await page.goto('/organization/verifications');
  await hydrated(page);
  await page.getByRole('button', { name: 'Require two-step verification' }).click();
  await expect(page.getByTestId('two-step-requirement')).toContainText('Everyone in your organization must use two-step verification');

  const team = new TeamPage(page);
  await team.open();
  const link = await team.add('Grace Agent', uniqueEmail('grace'), 'Agent');

  const grace = await browser.newContext();
  const gracePage = await grace.newPage();
  await gracePage.goto(link);
  await hydrated(gracePage);
  await gracePage.getByLabel('Choose a password').fill(PASSWORD);
  await gracePage.getByRole('button', { name: 'Set password and sign in' }).click();
  await expect(gracePage).toHaveURL(/\/account\/two-step$/);
  await expect(gracePage.getByText('Your organization requires two-step verification. Set it up to finish signing in.')).toBeVisible();

  // Nothing else works until it is set up.
  await gracePage.goto('/organization/verifications');
  await expect(gracePage).toHaveURL(/\/signin$/);

  const graceTwoStep = new TwoStepPage(gracePage);
  await graceTwoStep.open();
  await graceTwoStep.turnOn();
  await gracePage.getByRole('link', { name: 'Continue to Traceless' }).click();
  await expect(gracePage).toHaveURL(/\/organization$/);
  await expect(gracePage.getByRole('heading', { name: 'Welcome, Grace Agent' })).toBeVisible();
  await grace.close();
});
