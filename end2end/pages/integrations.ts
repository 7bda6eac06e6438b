// Page objects for the Microsoft Verified ID connection card and Microsoft's (the emulator's) sign-in page.
import { expect, type Page } from '@playwright/test';
import { hydrated } from './accounts';

export class IntegrationsPage {
  constructor(private page: Page) {}

  card() {
    return this.page.getByTestId('microsoft-card');
  }

  async open() {
    await this.page.goto('/organization/integrations');
    await hydrated(this.page);
    await expect(this.page.getByRole('heading', { name: 'Connect Your Azure AD Tenant to Microsoft Verified ID' })).toBeVisible();
  }

  async logIn() {
    await this.page.getByRole('button', { name: 'Log in to your tenant' }).click();
  }

  /** Logs in to the tenant as `account`, who accepts at Microsoft (consent, then sign-in). */
  async connectAs(account: RegExp | string) {
    await this.logIn();
    const microsoft = new MicrosoftSignIn(this.page);
    await microsoft.choose(account);
    await microsoft.accept();
  }

  /** "Refresh from Microsoft" on a connected card. */
  async refresh() {
    await this.page.getByRole('button', { name: 'Refresh from Microsoft' }).click();
  }

  async deleteIntegration() {
    await this.page.getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = this.page.getByRole('alertdialog');
    await expect(dialog).toBeVisible();
    await dialog.getByRole('button', { name: 'Delete integration' }).click();
  }
}

/** Microsoft's sign-in and consent page (served by the built-in emulator). */
export class MicrosoftSignIn {
  constructor(private page: Page) {}

  async choose(account: RegExp | string) {
    await expect(this.page.getByRole('button', { name: 'Accept' })).toBeVisible();
    await this.page.getByRole('radio', { name: account }).check();
  }

  async accept() {
    await this.page.getByRole('button', { name: 'Accept' }).click();
  }

  async cancel() {
    await this.page.getByRole('button', { name: 'Cancel' }).click();
  }
}
