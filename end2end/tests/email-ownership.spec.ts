// Email ownership (issue 19 point 1): sign up, confirm from the development mailbox; until
// then every page says so and nothing of the organization's is shown.
import { expect, test } from '@playwright/test';
import {
  ConfirmEmailPage,
  PASSWORD,
  SignInPage,
  SignUpPage,
  confirmationLinkInMailbox,
  expectCheckYourEmail,
  hydrated,
  uniqueEmail,
} from '../pages/accounts';

test('sign up, confirm from the mailbox: refused before, the organization works after', async ({ page }) => {
  const email = uniqueEmail('ada');
  const signUp = new SignUpPage(page);
  await signUp.open();
  await signUp.submit({ organization: 'Confirmed Org', name: 'Ada Admin', email, password: PASSWORD });
  await expectCheckYourEmail(page, email);
  await expect(page.getByRole('button', { name: 'Send the link again' })).toBeVisible();

  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.submit(email, PASSWORD);
  await expect(page).toHaveURL(/\/organization$/);

  // Not confirmed yet: the banner on every page, and the organization's data refused.
  const banner = page.getByTestId('confirm-banner');
  await expect(banner).toContainText(`We sent a link to ${email}`);
  const response = await page.goto('/organization/team');
  expect(response?.status()).toBe(403);
  await expect(banner).toBeVisible();
  await expect(page.getByText(`Confirm your email address first: we sent a link to ${email}.`).first()).toBeVisible();
  await page.goto('/account');
  await expect(banner).toBeVisible();

  // "Send the link again" answers without saying more.
  await hydrated(page);
  await banner.getByRole('button', { name: 'Send the link again' }).click();
  await expect(banner.getByText('If that address is waiting to be confirmed, we sent it a new link.')).toBeVisible();

  await new ConfirmEmailPage(page).confirm(await confirmationLinkInMailbox(page, email));
  await page.getByRole('link', { name: 'Go to your organization' }).click();
  await expect(page.getByRole('heading', { name: 'Welcome, Ada Admin' })).toBeVisible();
  await expect(banner).toHaveCount(0);
  const team = await page.goto('/organization/team');
  expect(team?.status()).toBe(200);
  await expect(page.getByText('Confirm your email address first')).toHaveCount(0);
});
