// Page objects for the account pages: tests speak in the product's own words.
import { expect, type Page } from '@playwright/test';

export const PASSWORD = 'correct horse battery staple';

/** A unique address per run, so tests can share one server and database. */
export function uniqueEmail(name: string, domain = 'contoso.com'): string {
  return `${name}.${Date.now()}.${Math.floor(Math.random() * 1e6)}@${domain}`;
}

/** Waits until the wasm has hydrated the page and its buttons respond. */
export async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

export class SignUpPage {
  constructor(private page: Page) {}

  async open() {
    await this.page.goto('/signup');
    await hydrated(this.page);
  }

  async submit(fields: { organization: string; name: string; email: string; password: string }) {
    await this.page.getByLabel('Organization name').fill(fields.organization);
    await this.page.getByLabel('Your name').fill(fields.name);
    await this.page.getByLabel('Work email').fill(fields.email);
    await this.page.getByLabel('Password', { exact: true }).fill(fields.password);
    await this.page.getByRole('button', { name: 'Create organization' }).click();
  }
}

export class SignInPage {
  constructor(private page: Page) {}

  async open() {
    await this.page.goto('/signin');
    await hydrated(this.page);
  }

  async submit(email: string, password: string) {
    await this.page.getByLabel('Email').fill(email);
    await this.page.getByLabel('Password', { exact: true }).fill(password);
    await this.page.getByRole('button', { name: 'Sign in' }).click();
  }
}

export class TeamPage {
  constructor(private page: Page) {}

  async open() {
    await this.page.goto('/organization/team');
    await hydrated(this.page);
  }

  /** Adds a teammate and returns the invite link the page shows. */
  async add(name: string, email: string, role: 'Agent' | 'Organization administrator') {
    await this.page.getByLabel('Name', { exact: true }).fill(name);
    await this.page.getByLabel('Work email').fill(email);
    await this.page.getByLabel('Role').selectOption({ label: role });
    await this.page.getByRole('button', { name: 'Add teammate' }).click();
    const link = this.page.getByTestId('invite-link');
    await expect(link).toBeVisible();
    return link.inputValue();
  }
}

/** The sign-up's answer: the same page whatever the address ("Check your email"). */
export async function expectCheckYourEmail(page: Page, email: string) {
  await expect(page.getByRole('heading', { name: 'Check your email' })).toBeVisible();
  await expect(page.getByText(`We sent a link to ${email}. Open it to confirm your address.`)).toBeVisible();
}

/** `/confirm-email/:token`, the link in the sign-up mail. */
export class ConfirmEmailPage {
  constructor(private page: Page) {}

  async confirm(link: string) {
    await this.page.goto(link);
    await expect(this.page.getByRole('heading', { name: 'Confirm your email address' })).toBeVisible();
    await hydrated(this.page);
    await this.page.getByRole('button', { name: 'Confirm my address' }).click();
    await expect(this.page.getByRole('heading', { name: 'Your address is confirmed' })).toBeVisible();
  }
}

/**
 * Signs up a new organization as a person does: the form, signing in, the confirmation link
 * from the development mailbox, "Confirm my address". Ends signed in on the organization page.
 */
export async function signUpNewAdmin(page: Page, organization = 'Contoso Help Desk') {
  const email = uniqueEmail('ada');
  const signUp = new SignUpPage(page);
  await signUp.open();
  await signUp.submit({ organization, name: 'Ada Admin', email, password: PASSWORD });
  await expectCheckYourEmail(page, email);

  // Signed in, not confirmed yet: every page says so.
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.submit(email, PASSWORD);
  await expect(page).toHaveURL(/\/organization$/);
  await expect(page.getByTestId('confirm-banner')).toBeVisible();

  await new ConfirmEmailPage(page).confirm(await confirmationLinkInMailbox(page, email));
  await page.getByRole('link', { name: 'Go to your organization' }).click();
  await expect(page).toHaveURL(/\/organization$/);
  await expect(page.getByRole('heading', { name: 'Welcome, Ada Admin' })).toBeVisible();
  await expect(page.getByTestId('confirm-banner')).toHaveCount(0);
  return email;
}

/** The confirmation link mailed to `email`, from the development mailbox of the signed-in account. */
export async function confirmationLinkInMailbox(page: Page, email: string) {
  await page.getByRole('link', { name: 'Mailbox (development)' }).click();
  await expect(page.getByRole('heading', { name: 'Development mailbox' })).toBeVisible();
  await hydrated(page);
  const mail = page.getByTestId('mail').filter({ hasText: email }).filter({ hasText: /Confirm your email address for Traceless/ }).first();
  await expect(mail).toBeVisible({ timeout: 15_000 });
  await mail.locator('summary').click();
  const link = mail.getByTestId('mail-link').first();
  await expect(link).toBeVisible();
  const href = (await link.getAttribute('href'))!;
  expect(href).toMatch(/\/confirm-email\/[A-Za-z0-9_-]{43}$/);
  return href;
}

/** "Forgot password?" from the sign-in page, and the link's page. */
export class PasswordResetPages {
  constructor(private page: Page) {}

  async ask(email: string) {
    await this.page.goto('/signin');
    await hydrated(this.page);
    await this.page.getByRole('link', { name: 'Forgot password?' }).click();
    await expect(this.page.getByRole('heading', { name: 'Forgot your password?' })).toBeVisible();
    await hydrated(this.page);
    await this.page.getByLabel('Email').fill(email);
    await this.page.getByRole('button', { name: 'Send the link' }).click();
    await expect(this.page.getByText('If an account uses that address, we sent it a link')).toBeVisible();
  }

  async setNew(link: string, password: string) {
    await this.page.goto(link);
    await expect(this.page.getByRole('heading', { name: 'Choose a new password' })).toBeVisible();
    await hydrated(this.page);
    await this.page.getByLabel('New password', { exact: true }).fill(password);
    await this.page.getByRole('button', { name: 'Set new password' }).click();
  }
}

/** `/account/sessions`: where the person is signed in. */
export class SessionsPage {
  constructor(private page: Page) {}

  async open() {
    // The header links to the account page, which links to the sessions.
    await this.page.goto('/account');
    await this.page.getByRole('link', { name: 'See your sessions' }).click();
    await expect(this.page.getByRole('heading', { name: 'Sessions', exact: true })).toBeVisible();
    await hydrated(this.page);
  }

  sessions() {
    return this.page.getByTestId('session');
  }

  async signOutOther() {
    await this.sessions()
      .filter({ hasNotText: 'This device' })
      .first()
      .getByRole('button', { name: /^Sign out / })
      .click();
  }
}
