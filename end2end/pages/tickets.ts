// Page objects for tickets and the development mailbox.
import { expect, type Page } from '@playwright/test';
import { hydrated } from './accounts';

/** `/organization/tickets` and `/organization/tickets/:id`. */
export class TicketsPage {
  constructor(private page: Page) {}

  async find(reference: string) {
    await this.page.goto('/organization/tickets');
    await hydrated(this.page);
    await this.page.getByLabel('Ticket reference').fill(reference);
    await this.page.getByRole('button', { name: 'Find' }).click();
    await this.page.getByRole('link', { name: reference }).click();
    await expect(this.page).toHaveURL(/\/organization\/tickets\/[0-9a-f-]+$/);
    await expect(this.page.getByTestId('ticket-reference')).toHaveText(reference);
    await hydrated(this.page);
  }

  timeline() {
    return this.page.getByTestId('ticket-timeline');
  }

  entry(label: string) {
    return this.timeline().getByTestId('ticket-entry').filter({ has: this.page.getByText(label, { exact: true }) });
  }
}

/** `/organization/mailbox`: the development mailbox (admins, no SMTP configured). */
export class MailboxPage {
  constructor(private page: Page) {}

  async open() {
    await this.page.getByRole('link', { name: 'Mailbox (development)' }).click();
    await expect(this.page.getByRole('heading', { name: 'Development mailbox' })).toBeVisible();
    await hydrated(this.page);
  }

  mail(to: string, subject: RegExp) {
    return this.page.getByTestId('mail').filter({ hasText: to }).filter({ hasText: subject }).first();
  }

  /** Opens the mail and returns the first link in it. */
  async linkIn(to: string, subject: RegExp) {
    const mail = this.mail(to, subject);
    await expect(mail).toBeVisible({ timeout: 10_000 });
    await mail.locator('summary').click();
    const link = mail.getByTestId('mail-link').first();
    await expect(link).toBeVisible();
    return (await link.getAttribute('href'))!;
  }
}
