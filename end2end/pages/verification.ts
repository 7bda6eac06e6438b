// Page objects for verifications: the agent's pages, the person's /verify page, and the
// person's phone (the emulator's simulated Microsoft Authenticator, driven over its JSON API).
import { expect, type APIRequestContext, type Browser, type Page, type TestInfo } from '@playwright/test';
import { hydrated } from './accounts';
import { IntegrationsPage } from './integrations';

export const EMULATOR_URL = (process.env.EMULATOR_URL ?? 'http://127.0.0.1:3100').replace(/\/$/, '');

/** Each project uses its own demo tenant: a tenant belongs to one organization at a time. */
export const tenants = {
  desktop: {
    name: 'Contoso',
    domain: 'contoso.com',
    admin: /adele\.vance@contoso\.com/,
    employee: 'megan.bowen@contoso.com',
    other: 'lee.gu@contoso.com',
  },
  phone: {
    name: 'Fabrikam',
    domain: 'fabrikam.com',
    admin: /diego\.siciliani@fabrikam\.com/,
    employee: 'isaiah.langer@fabrikam.com',
    other: 'diego.siciliani@fabrikam.com',
  },
} as const;

export type Tenant = (typeof tenants)[keyof typeof tenants];

export function tenantFor(testInfo: TestInfo): Tenant {
  return tenants[testInfo.project.name as keyof typeof tenants];
}

/** Connects the project's tenant (the signed-in admin accepts at Microsoft). */
export async function connectTenant(page: Page, testInfo: TestInfo) {
  const integrations = new IntegrationsPage(page);
  await integrations.open();
  await integrations.connectAs(tenantFor(testInfo).admin);
  await expect(page.getByRole('heading', { name: 'Microsoft Verified ID is active' })).toBeVisible();
}

/** Frees the tenant for the next test. */
export async function disconnectTenant(page: Page) {
  const integrations = new IntegrationsPage(page);
  await integrations.open();
  if (await page.getByRole('button', { name: 'Delete', exact: true }).count()) {
    await integrations.deleteIntegration();
    await expect(integrations.card().getByText('Not connected')).toBeVisible();
  }
}

/** A second browser for the person, with the same screen as the project (desktop or phone). */
export async function personContext(browser: Browser, testInfo: TestInfo, extraHTTPHeaders?: Record<string, string>) {
  const use = testInfo.project.use;
  return browser.newContext({
    extraHTTPHeaders,
    baseURL: use.baseURL,
    viewport: use.viewport,
    isMobile: use.isMobile,
    hasTouch: use.hasTouch,
    userAgent: use.userAgent,
    deviceScaleFactor: use.deviceScaleFactor,
  });
}

/** `/organization/verifications`. */
export class VerificationsPage {
  constructor(private page: Page) {}

  async open() {
    await this.page.goto('/organization/verifications');
    await hydrated(this.page);
    await expect(this.page.getByRole('heading', { name: 'Send a verification' })).toBeVisible();
  }

  async submit(fields: { email: string; ticket?: string; note?: string }) {
    await this.page.getByLabel('Recipient email').fill(fields.email);
    await this.page.getByLabel('Ticket reference').fill(fields.ticket ?? '');
    await this.page.getByLabel('Note').fill(fields.note ?? '');
    await this.page.getByRole('button', { name: 'Send verification' }).click();
  }

  /** Sends a verification and returns the link the page shows. */
  async send(fields: { email: string; ticket?: string; note?: string }) {
    await this.submit(fields);
    // The box names the recipient: an earlier send's link is never mistaken for this one.
    await expect(this.page.getByTestId('new-verification')).toContainText(`Verification link for ${fields.email}`);
    const link = this.page.getByTestId('verification-link');
    await expect(link).toBeVisible();
    await expect(this.page.getByText('Treat verification links like sensitive links')).toBeVisible();
    return link.inputValue();
  }

  emailError() {
    return this.page.locator('#field-email-error');
  }

  /** Follows the link to the verification just sent. */
  async follow() {
    await this.page.getByRole('link', { name: 'Follow this verification' }).click();
    await expect(this.page).toHaveURL(/\/organization\/verifications\/[0-9a-f-]+$/);
    await hydrated(this.page);
  }

  item(recipient: string) {
    return this.page.getByTestId('verification-item').filter({ hasText: recipient }).first();
  }
}

/** `/organization/verifications/:id`: the agent's view of one verification. */
export class AgentVerificationPage {
  constructor(private page: Page) {}

  status() {
    return this.page.getByTestId('agent-status').getByTestId('status-pill');
  }

  timeline() {
    return this.page.getByTestId('timeline');
  }
}

/** `/verify/:token`: the person's page. */
export class RecipientPage {
  constructor(private page: Page) {}

  async open(link: string) {
    const response = await this.page.goto(link);
    return response;
  }

  qr() {
    return this.page.getByTestId('qr-code');
  }

  /** Waits until the page counts down in the browser (so moving the clock means something). */
  async clockRunning() {
    await expect(this.qr()).toHaveAttribute('data-clock', 'running');
  }

  deepLink() {
    return this.page.getByRole('link', { name: 'Open in Authenticator' });
  }

  async requestUrl() {
    const href = await this.deepLink().getAttribute('href');
    expect(href).toMatch(/^openid-vc:\/\//);
    return href!;
  }

  status() {
    return this.page.getByTestId('verify-status');
  }

  async tryAgain() {
    await this.page.getByRole('button', { name: 'Try again' }).click();
  }
}

export type Variant = 'valid' | 'revoked' | 'other_tenant' | 'different_mail' | 'face_check_low';

/** The person's phone: the emulator's Authenticator, over its JSON API. */
export class Authenticator {
  /** `emulator`: the built-in Microsoft of the server under test (another server's in the verifier-mode spec). */
  constructor(
    private request: APIRequestContext,
    private emulator: string = EMULATOR_URL,
  ) {}

  async scan(requestUrl: string) {
    const response = await this.request.post(`${this.emulator}/authenticator/api/scan`, { data: { request: requestUrl } });
    expect(response.status(), await response.text()).toBe(200);
  }

  async present(requestUrl: string, user: string, variant: Variant = 'valid') {
    const response = await this.request.post(`${this.emulator}/authenticator/api/present`, {
      data: { request: requestUrl, user, variant },
    });
    expect(response.status(), await response.text()).toBe(200);
  }

  /**
   * Authenticator reports an error. Microsoft documents no callback for a decline; this is the
   * emulator's test control that sends an undocumented `presentation_error` code, as seen in the field.
   */
  async reportError(requestUrl: string, code = 'userCanceled') {
    const response = await this.request.post(`${this.emulator}/authenticator/api/decline`, {
      data: { request: requestUrl, error_code: code, error_message: 'The user cancelled the request.' },
    });
    expect(response.status(), await response.text()).toBe(200);
  }

  /** Microsoft's request service answers 503 until `recover()`. */
  async outage() {
    const response = await this.request.post(`${this.emulator}/_control/faults`, {
      data: { endpoint: '/verifiedid/*/createPresentationRequest', status: 503 },
    });
    expect(response.status(), await response.text()).toBe(201);
  }

  async recover() {
    const response = await this.request.delete(`${this.emulator}/_control/faults`);
    expect(response.ok(), await response.text()).toBeTruthy();
  }

  /** Microsoft forgets the request (as when its five minutes are up). */
  async expire(requestUrl: string) {
    const id = decodeURIComponent(requestUrl).split('/').pop()!;
    const response = await this.request.post(`${this.emulator}/_control/requests/${id}/expire`);
    expect(response.ok(), await response.text()).toBeTruthy();
  }
}
