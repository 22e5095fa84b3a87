// The fleet console in Chromium: open it at the repository's root and sign in the way a person does
// (user name and password, or an API token where the repository has no user accounts).
import type { Page } from 'playwright-core';

export type ConsoleLogin = { token: string } | { username: string; password: string };

export async function openConsole(page: Page, repoUrl: string, login: ConsoleLogin): Promise<void> {
  await page.goto(`${repoUrl}/`);
  await page.waitForSelector('#login-form');
  if ('token' in login) {
    await page.click('.token-login summary');
    await page.fill('#login-token', login.token);
    await page.click('#login-token-submit');
  } else {
    await page.fill('#login-username', login.username);
    await page.fill('#login-password', login.password);
    await page.click('#login-submit');
  }
  await page.waitForSelector('#who');
}

/** Goes to a console route (`#/devices/line-1`) and waits for `selector`. */
export async function goTo(page: Page, hash: string, selector: string): Promise<void> {
  await page.evaluate((h) => (location.hash = h), hash);
  await page.waitForSelector(selector);
}
