import { execFileSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { PASSWORD, SignInPage, SignUpPage, TeamPage, expectCheckYourEmail, hydrated, signUpNewAdmin, uniqueEmail } from '../pages/accounts';

test('the page hydrates: the password Show button works once the wasm has loaded', async ({ page }) => {
  await page.goto('/signup');
  await hydrated(page);
  const password = page.getByLabel('Password', { exact: true });
  await password.fill('secret words here');
  await expect(password).toHaveAttribute('type', 'password');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(password).toHaveAttribute('type', 'text');
  await page.getByRole('button', { name: 'Hide' }).click();
  await expect(password).toHaveAttribute('type', 'password');
});

test('sign up, sign out, sign in; add an agent who accepts the invite and cannot reach admin pages', async ({ page, browser }) => {
  const adminEmail = await signUpNewAdmin(page);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/signin/);
  await expect(page.getByText('You are signed out.')).toBeVisible();

  const signIn = new SignInPage(page);
  await hydrated(page);
  await signIn.submit(adminEmail, PASSWORD);
  await expect(page).toHaveURL(/\/organization$/);

  await page.getByRole('link', { name: 'Team' }).first().click();
  await expect(page.getByRole('heading', { name: 'Team', exact: true })).toBeVisible();
  const team = new TeamPage(page);
  await hydrated(page);
  const agentEmail = uniqueEmail('grace');
  const link = await team.add('Grace Agent', agentEmail, 'Agent');
  expect(link).toContain('/invite/');
  await expect(page.getByText('Invited, not joined yet')).toBeVisible();

  // The teammate opens the link in their own browser.
  const grace = await browser.newContext();
  const gracePage = await grace.newPage();
  await gracePage.goto(link);
  await hydrated(gracePage);
  await expect(gracePage.getByRole('heading', { name: /Join Contoso Help Desk/ })).toBeVisible();
  await gracePage.getByLabel('Choose a password').fill(PASSWORD);
  await gracePage.getByRole('button', { name: 'Set password and sign in' }).click();
  await expect(gracePage).toHaveURL(/\/organization$/);
  await expect(gracePage.getByText('Agent', { exact: false }).first()).toBeVisible();
  await expect(gracePage.getByRole('link', { name: 'Team' })).toHaveCount(0);

  const response = await gracePage.goto('/organization/team');
  expect(response?.status()).toBe(403);
  await expect(gracePage.getByText('You must be an organization administrator in Traceless')).toBeVisible();

  // The invite link is single use.
  await gracePage.goto(link);
  await expect(gracePage.getByText('This invite link has expired or was already used')).toBeVisible();
  await grace.close();
});

test('each bad input on sign-up and sign-in shows its message', async ({ page, context }) => {
  const takenEmail = await signUpNewAdmin(page, 'Taken Org');
  await context.clearCookies();

  const signUp = new SignUpPage(page);
  await signUp.open();
  // A taken address gets the answer a new one gets: only its owner is told, by mail.
  await signUp.submit({ organization: 'Copy', name: 'Eve', email: takenEmail, password: PASSWORD });
  await expectCheckYourEmail(page, takenEmail);
  await expect(page.getByText('An account with this email already exists')).toHaveCount(0);

  await signUp.open();
  await signUp.submit({ organization: 'Copy', name: 'Eve', email: uniqueEmail('eve'), password: 'short' });
  await expect(page.getByText('Use at least 12 characters for your password.')).toBeVisible();

  await signUp.submit({ organization: 'Copy', name: 'Eve', email: 'eve-at-example', password: PASSWORD });
  await expect(page.getByText('Enter a valid email address')).toBeVisible();
  await expect(page.getByLabel('Work email')).toHaveAttribute('aria-invalid', 'true');

  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.submit(takenEmail, 'definitely not the password');
  await expect(page.getByText('The email or password is incorrect.')).toBeVisible();
  await signIn.submit(uniqueEmail('nobody'), PASSWORD);
  await expect(page.getByText('The email or password is incorrect.')).toBeVisible();
  await expect(page).toHaveURL(/\/signin/);
});

test('an expired invite link says so and what to do', async ({ page, browser }) => {
  await signUpNewAdmin(page, 'Expiring Org');
  const team = new TeamPage(page);
  await team.open();
  const email = uniqueEmail('alan');
  const link = await team.add('Alan', email, 'Agent');

  // Age the invite in the server's database (scripts/test hands us its path).
  const database = process.env.E2E_DATABASE;
  test.skip(!database, 'needs E2E_DATABASE to age the invite');
  execFileSync('sqlite3', [database!, `UPDATE invites SET expires_at = '2020-01-01T00:00:00Z' WHERE user_id = (SELECT id FROM users WHERE email = '${email}')`]);

  const alan = await browser.newContext();
  const alanPage = await alan.newPage();
  await alanPage.goto(link);
  await expect(alanPage.getByText('This invite link has expired or was already used. Ask your Traceless organization administrator for a new one.')).toBeVisible();
  await alan.close();

  await page.reload();
  await expect(page.getByText(/Invite expired/)).toBeVisible();
});
