// The fixtures specs share, on top of Playwright's own. `connectedAdmin`: a fresh
// organization's admin, signed in on `page`, with the project's demo tenant connected through
// Microsoft's (the emulator's) consent and sign-in pages; afterwards the integration is
// deleted, so the tenant is free for the next test (a tenant belongs to one organization at a
// time). Specs import `test` and `expect` from here.
import { test as base } from '@playwright/test';
import { signUpNewAdmin } from './pages/accounts';
import { type Tenant, connectTenant, disconnectTenant, tenantFor } from './pages/verification';

export interface ConnectedAdmin {
  /** The admin's email; the admin is signed in on `page`. */
  email: string;
  /** The project's demo tenant (desktop: Contoso, phone: Fabrikam), now connected. */
  tenant: Tenant;
}

export const test = base.extend<{ connectedAdmin: ConnectedAdmin }>({
  connectedAdmin: async ({ page }, use, testInfo) => {
    const tenant = tenantFor(testInfo);
    const email = await signUpNewAdmin(page, `${tenant.name} Help Desk`);
    await connectTenant(page, testInfo);
    await use({ email, tenant });
    await disconnectTenant(page);
  },
});

export { expect } from '@playwright/test';
