import { expect, test, type Route } from '@playwright/test';
import { hydrated, signUpNewAdmin } from '../pages/accounts';

// Hydration is asynchronous: the router listens for link clicks before the page's wasm chunk
// has arrived. A link clicked in that window once made the router navigate inside a page that
// was still being hydrated; tachys panicked and the page never became interactive. The chunk is
// held back here so the click lands in that window every time, not only on a slow machine.
test('a link clicked while the page is still loading leads to a page that works', async ({ page }) => {
  const manifest = await page.request.get('/pkg/__wasm_split_manifest.json');
  test.skip(!manifest.ok(), 'only a site built with --split loads pages in chunks (the release build is)');
  await signUpNewAdmin(page);

  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let chunkAsked = false;
  await page.route(/\/pkg\/(split_|chunk_)[^/]*\.wasm$/, async (route: Route) => {
    chunkAsked = true;
    await held;
    // The request may belong to the page the click left: nothing to answer then.
    await route.continue().catch(() => {});
  });

  await page.goto('/organization');
  await expect.poll(() => chunkAsked).toBe(true);
  await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');

  await page.getByRole('link', { name: 'Team' }).first().click();
  release();

  await expect(page).toHaveURL(/\/organization\/team$/);
  await expect(page.getByRole('heading', { name: 'Team', exact: true })).toBeVisible();
  await hydrated(page);
  // Interactive: the add-teammate form validates in the browser after hydration.
  await expect(page.getByLabel('Work email')).toBeEditable();
});
