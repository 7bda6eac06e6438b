// Tickets and mail: the agent has the link emailed, the person opens it from the development
// mailbox, presents with Authenticator, and the ticket's timeline, the agent's page and the
// mailbox (the result mail) all show it.
import { expect, test } from '../fixtures';
import { PASSWORD, TeamPage, hydrated, signUpNewAdmin, uniqueEmail } from '../pages/accounts';
import { MailboxPage, TicketsPage } from '../pages/tickets';
import {
  AgentVerificationPage,
  Authenticator,
  RecipientPage,
  VerificationsPage,
  personContext,
} from '../pages/verification';

test.describe('with a connected tenant', () => {
  test('the link mailed to the person; the ticket, the agent and the mailbox follow the result', async ({ page, browser, request, connectedAdmin }, testInfo) => {
    const { tenant } = connectedAdmin;
    const reference = `INC-${Date.now()}`;
    const verifications = new VerificationsPage(page);
    await verifications.open();
    await page.getByLabel('Ticket subject').fill('Password reset');
    await verifications.send({ email: tenant.employee, ticket: reference });
    await page.getByRole('button', { name: 'Send by email' }).click();
    await expect(page.getByTestId('email-status')).toContainText(`The link is on its way to ${tenant.employee} by email.`);

    // The person's mail, read in the development mailbox.
    const mailbox = new MailboxPage(page);
    await mailbox.open();
    const link = await mailbox.linkIn(tenant.employee, /asks you to verify your identity/);
    expect(link).toMatch(/\/verify\/[A-Za-z0-9_-]+$/);
    await expect(mailbox.mail(tenant.employee, /asks you to verify/)).toContainText(reference);
    await expect(mailbox.mail(tenant.employee, /asks you to verify/)).toContainText('Treat verification links like sensitive links');

    // The ticket page stays open while the person verifies.
    const tickets = new TicketsPage(page);
    await tickets.find(reference);
    await expect(tickets.entry('Sent')).toContainText('Ada Admin');
    await expect(tickets.entry('Mail delivered')).toBeVisible({ timeout: 10_000 });

    const person = await personContext(browser, testInfo);
    const personPage = await person.newPage();
    const recipient = new RecipientPage(personPage);
    await recipient.open(link);
    await expect(recipient.qr()).toBeVisible();
    const requestUrl = await recipient.requestUrl();
    const phone = new Authenticator(request);
    await phone.scan(requestUrl);
    await phone.present(requestUrl, tenant.employee);
    await expect(recipient.status()).toContainText("You're verified — you can close this page", { timeout: 5_000 });

    await expect(tickets.entry('Verified')).toContainText(tenant.employee, { timeout: 10_000 });
    await expect(tickets.entry('Scanned')).toBeVisible();
    await expect(page.getByTestId('ticket-verifications').getByTestId('status-pill')).toHaveText('Verified');

    // The agent's page of the verification.
    await page.getByTestId('ticket-verifications').getByRole('link', { name: tenant.employee }).click();
    await hydrated(page);
    await expect(new AgentVerificationPage(page).status()).toHaveText('Verified');

    // The result mail to the agent.
    await mailbox.open();
    await expect(page.getByTestId('mail').filter({ hasText: /Verified: / }).first()).toContainText(reference, { timeout: 10_000 });
    // The link ended: its mail no longer holds it (docs/operations.md: what we keep).
    const linkMail = mailbox.mail(tenant.employee, /asks you to verify your identity/);
    await linkMail.locator('summary').click();
    await expect(linkMail).toContainText('The verification link was removed from this mail');
    await expect(linkMail.getByTestId('mail-link')).toHaveCount(0);
    await person.close();
  });
});

test('an agent cannot open the development mailbox', async ({ page, browser }) => {
  await signUpNewAdmin(page);
  await expect(page.getByRole('link', { name: 'Mailbox (development)' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Tickets' })).toBeVisible();
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
  await expect(gracePage.getByRole('link', { name: 'Tickets' })).toBeVisible();
  await expect(gracePage.getByRole('link', { name: 'Mailbox (development)' })).toHaveCount(0);

  const response = await gracePage.goto('/organization/mailbox');
  expect(response?.status()).toBe(403);
  await expect(gracePage.getByText('You must be an organization administrator in Traceless')).toBeVisible();
  await grace.close();
});
