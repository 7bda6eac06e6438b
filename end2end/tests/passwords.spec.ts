// Passwords and sessions (issue 19): "Forgot password?" end to end through the development
// mailbox, and signing another browser's session out from the Sessions page.
import { expect, test } from '@playwright/test';
import { PASSWORD, PasswordResetPages, SessionsPage, SignInPage, hydrated, signUpNewAdmin } from '../pages/accounts';
import { MailboxPage } from '../pages/tickets';

const NEW_PASSWORD = 'violet tractor meadow lantern';

test('forgot password: the mailed link sets a new password and signs every browser out', async ({ page, browser }) => {
  const email = await signUpNewAdmin(page);

  // Another browser, signed out, asks for a link.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  const reset = new PasswordResetPages(otherPage);
  await reset.ask(email);

  // The administrator's own mailbox (development) has it.
  const mailbox = new MailboxPage(page);
  await mailbox.open();
  const link = await mailbox.linkIn(email, /Set a new password for Traceless/);
  expect(link).toMatch(/\/reset-password\/[A-Za-z0-9_-]{43}$/);

  await reset.setNew(link, NEW_PASSWORD);
  await expect(otherPage).toHaveURL(/\/signin\?password_reset=1/);
  await expect(otherPage.getByText('Your password is changed and every device was signed out.')).toBeVisible();

  // The first browser was signed out too: it is asked to sign in.
  await page.goto('/account/sessions');
  await expect(page.getByRole('heading', { name: 'Sign in', exact: true })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Sessions' })).toHaveCount(0);

  // The new password signs in; the link does not work twice.
  const signIn = new SignInPage(otherPage);
  await hydrated(otherPage);
  await signIn.submit(email, NEW_PASSWORD);
  await expect(otherPage).toHaveURL(/\/organization$/);
  await otherPage.goto(link);
  await expect(otherPage.getByRole('heading', { name: "This link can't be used" })).toBeVisible();
  await other.close();
});

test('the sessions page signs another browser out', async ({ page, browser }) => {
  const email = await signUpNewAdmin(page);
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  const signIn = new SignInPage(otherPage);
  await signIn.open();
  await signIn.submit(email, PASSWORD);
  await expect(otherPage).toHaveURL(/\/organization$/);

  const sessions = new SessionsPage(page);
  await sessions.open();
  await expect(sessions.sessions()).toHaveCount(2);
  await expect(sessions.sessions().filter({ hasText: 'This device' })).toHaveCount(1);
  await sessions.signOutOther();
  await expect(sessions.sessions()).toHaveCount(1);
  await expect(sessions.sessions().first()).toContainText('This device');

  // The other browser is asked to sign in.
  await otherPage.goto('/account/sessions');
  await expect(otherPage.getByRole('heading', { name: 'Sign in', exact: true })).toBeVisible();
  await expect(otherPage.getByRole('link', { name: 'Sessions' })).toHaveCount(0);
  await other.close();
});
