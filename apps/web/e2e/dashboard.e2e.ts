import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, asGuest, composer, Stage, say, screenshot, signUp } from './world.ts';

/**
 * Story 5: the operators' dashboard. A wrong token is refused; renaming a user signs that
 * user's browser out with a message; deleting a channel takes it out of the sidebars.
 */
describe('story 5: the operators’ dashboard', () => {
  let stage: Stage;
  beforeAll(async () => {
    stage = await Stage.start();
  });
  afterAll(async () => {
    await stage?.close();
  });

  it('wrong token refused; rename signs the user out; delete removes the channel everywhere', async () => {
    const victor = await stage.page();
    await signUp(victor, stage.url, 'victor');
    await composer(victor, 'general').waitFor();
    await victor.getByLabel('New channel').fill('doomed');
    await victor.getByRole('button', { name: 'Create' }).click();
    await composer(victor, 'doomed').waitFor();
    await say(victor, 'doomed', 'last words');
    const gus = await stage.page();
    await asGuest(gus, stage.url, 'gus', '/c/doomed');
    await composer(gus, 'doomed').waitFor();

    for (const scheme of ['dark', 'light'] as const) {
      const ops = await stage.page({ colorScheme: scheme, width: 1200 });
      await ops.goto(`${stage.url}/admin`);
      if (scheme === 'light') {
        await ops.getByLabel('Admin token').fill('not-the-token-at-all-0000000000');
        await ops.getByRole('button', { name: 'Open dashboard' }).click();
        await ops.getByRole('alert').filter({ hasText: 'The server refused this admin token.' }).waitFor();
      }
      await ops.getByLabel('Admin token').fill(ADMIN_TOKEN);
      await ops.getByRole('button', { name: 'Open dashboard' }).click();
      await ops.getByRole('rowheader', { name: 'victor' }).waitFor();
      await ops.getByRole('button', { name: 'Messages of victor' }).click();
      await ops.getByRole('region', { name: 'Messages of victor' }).getByText('last words').waitFor();
      await screenshot(ops, `dashboard-${scheme}`);
      if (scheme === 'dark') {
        await ops.close();
        continue;
      }

      // Rename victor: his browser is signed out and told why.
      await ops.getByRole('button', { name: 'Rename victor' }).click();
      await ops.getByLabel('New name').fill('victor2');
      await ops.getByRole('button', { name: 'Save name' }).click();
      await ops.getByRole('rowheader', { name: 'victor2' }).waitFor();
      await victor
        .getByRole('alert')
        .filter({ hasText: /Signed out: .*Please sign in again/ })
        .waitFor();
      await victor.getByRole('button', { name: 'Sign in' }).waitFor();

      // A name that is taken: the API's error is shown.
      await ops.getByRole('button', { name: 'Rename gus' }).click();
      await ops.getByLabel('New name').fill('victor2');
      await ops.getByRole('button', { name: 'Save name' }).click();
      await ops.getByRole('alert').filter({ hasText: /taken/ }).waitFor();
      await ops.getByRole('button', { name: 'Cancel' }).click();

      // Delete #doomed, with confirmation: it leaves gus's sidebar, with a notice.
      await ops.getByRole('button', { name: 'Channels' }).click();
      await ops.getByRole('button', { name: 'Delete #doomed' }).click();
      await ops.getByRole('alertdialog', { name: 'Delete #doomed' }).getByRole('button', { name: 'Delete #doomed' }).click();
      await ops.getByRole('rowheader', { name: '#doomed' }).waitFor({ state: 'detached' });
      await gus.getByRole('alert').filter({ hasText: '#doomed was deleted by an operator.' }).waitFor();
      await gus
        .getByRole('navigation', { name: 'Channels' })
        .getByRole('link', { name: /doomed/ })
        .waitFor({ state: 'detached' });
      await ops.getByRole('button', { name: 'Audit log' }).click();
      await ops.getByRole('cell', { name: 'delete', exact: true }).waitFor();
      await ops.close();
    }
    expect(stage.errors.join('\n')).toBe('');
  });
});
