// Page objects for help-desk tools: API keys and webhooks (organization administrators).
import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { hydrated } from './accounts';

/** `/organization/api-keys`. */
export class ApiKeysPage {
  constructor(private page: Page) {}

  async open() {
    await this.page.getByRole('link', { name: 'API keys' }).first().click();
    await expect(this.page.getByRole('heading', { name: 'API keys', level: 1 })).toBeVisible();
    await hydrated(this.page);
  }

  /** Creates a key and returns it (the page shows it once). */
  async create(name: string) {
    await this.page.getByLabel('Name').fill(name);
    await this.page.getByRole('button', { name: 'Create key' }).click();
    const key = this.page.getByTestId('new-api-key');
    await expect(key).toBeVisible();
    return key.inputValue();
  }

  keys() {
    return this.page.getByTestId('api-keys');
  }
}

/** `/organization/webhooks`. */
export class WebhooksPage {
  constructor(private page: Page) {}

  async open() {
    await this.page.getByRole('link', { name: 'Webhooks' }).first().click();
    await expect(this.page.getByRole('heading', { name: 'Webhooks', level: 1 })).toBeVisible();
    await hydrated(this.page);
  }

  /** Adds an endpoint for every event type and returns its signing secret. */
  async add(url: string) {
    await this.page.getByLabel('URL').fill(url);
    await this.page.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = this.page.getByTestId('new-webhook-secret');
    await expect(secret).toBeVisible();
    return secret.inputValue();
  }

  endpoint(url: string) {
    return this.page.getByTestId('webhook-endpoint').filter({ hasText: url });
  }
}

/** A help-desk tool calling the REST API with a key. */
export class HelpDeskTool {
  constructor(
    private request: APIRequestContext,
    private key: string,
  ) {}

  async create(body: object) {
    const response = await this.request.post('/api/v1/verifications', {
      headers: { Authorization: `Bearer ${this.key}` },
      data: body,
    });
    expect(response.status()).toBe(201);
    return response.json();
  }

  async read(id: string) {
    const response = await this.request.get(`/api/v1/verifications/${id}`, {
      headers: { Authorization: `Bearer ${this.key}` },
    });
    expect(response.status()).toBe(200);
    return response.json();
  }
}
