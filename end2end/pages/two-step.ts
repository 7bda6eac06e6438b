// Two-step verification: the account page, the sign-in code step, and a small TOTP (RFC 6238)
// so the tests compute codes as an authenticator app does.
import { createHmac } from 'node:crypto';
import { expect, type Page } from '@playwright/test';
import { hydrated } from './accounts';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The six-digit code of `secret` (base32, as the page shows it) `stepsAhead` steps from now. */
export function totp(secret: string, stepsAhead = 0): string {
  const step = Math.floor(Date.now() / 1000 / 30) + stepsAhead;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const number = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return number.toString().padStart(6, '0');
}

export class TwoStepPage {
  constructor(private page: Page) {}

  async open() {
    await this.page.goto('/account/two-step');
    await hydrated(this.page);
  }

  /** Sets it up as a person with an app does: returns the key shown and the recovery codes. */
  async turnOn(): Promise<{ secret: string; codes: string[] }> {
    await this.page.getByRole('button', { name: 'Set up two-step verification' }).click();
    await expect(this.page.getByRole('img', { name: /QR code/ })).toBeVisible();
    const secret = (await this.page.getByTestId('two-step-secret').innerText()).trim();
    await this.page.getByLabel('Code from the app').fill(totp(secret));
    await this.page.getByRole('button', { name: 'Turn on two-step verification' }).click();
    const list = this.page.getByTestId('recovery-codes');
    await expect(list.getByRole('listitem')).toHaveCount(10);
    const codes = await list.getByRole('listitem').allInnerTexts();
    return { secret, codes };
  }
}

/** The code step of sign-in: the next step's code (the current one was used to turn it on). */
export async function enterCode(page: Page, secret: string) {
  await expect(page).toHaveURL(/\/signin\/code$/);
  await hydrated(page);
  const field = page.getByLabel('Code from the app');
  await expect(field).toHaveAttribute('inputmode', 'numeric');
  await expect(field).toHaveAttribute('autocomplete', 'one-time-code');
  await field.fill(totp(secret, 1));
  await page.getByRole('button', { name: 'Sign in' }).click();
}
