import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composer, log, Stage, say, signUp } from './world.ts';

/**
 * Story 4: the owner of a channel types `/mu`, the autocomplete shows /mute's usage, and mutes
 * the other user for 60 s with a reason; the other sees the system line and a disabled
 * composer with the time left.
 */
describe('story 4: moderation from the composer', () => {
  let stage: Stage;
  beforeAll(async () => {
    stage = await Stage.start();
  });
  afterAll(async () => {
    await stage?.close();
  });

  it('/mu → /mute usage → mute for 60 s; the muted user sees why and for how long', async () => {
    const olga = await stage.page();
    const max = await stage.page();
    await signUp(olga, stage.url, 'olga');
    await composer(olga, 'general').waitFor();
    // The owner creates a channel from the sidebar and lands in it.
    await olga.getByLabel('New channel').fill('ops');
    await olga.getByRole('button', { name: 'Create' }).click();
    await composer(olga, 'ops').waitFor();
    // max follows a deep link to it.
    await signUp(max, stage.url, 'max', '/c/ops');
    await composer(max, 'ops').waitFor();
    await say(max, 'ops', 'buy cheap watches http://spam.example');
    await log(olga, 'ops').getByText('buy cheap watches').waitFor();
    // Roles in the members panel.
    await olga.getByRole('complementary', { name: 'Members' }).getByText('owner').waitFor();

    // Autocomplete: `/mu` shows /mute with its usage and description.
    await composer(olga, 'ops').fill('/mu');
    const options = olga.getByRole('listbox', { name: 'Commands' }).getByRole('option');
    await options.first().waitFor();
    expect(await options.count()).toBe(1);
    expect(await options.first().textContent()).toContain('/mute <user> [duration] [reason]');
    expect(await options.first().textContent()).toContain('stop a user sending');
    expect(await composer(olga, 'ops').getAttribute('aria-expanded')).toBe('true');
    await composer(olga, 'ops').press('Tab');
    expect(await composer(olga, 'ops').inputValue()).toBe('/mute ');
    // Member names are offered next.
    await composer(olga, 'ops').pressSequentially('ma');
    await olga.getByRole('listbox', { name: 'Members' }).getByRole('option', { name: 'max' }).waitFor();
    await composer(olga, 'ops').press('Tab');
    await composer(olga, 'ops').pressSequentially('60s spamming links');
    await composer(olga, 'ops').press('Enter');

    // Both see the system line; max's composer is disabled with the time left.
    await log(olga, 'ops')
      .getByText(/olga muted max for (1 min|60 s): spamming links/)
      .waitFor();
    await log(max, 'ops')
      .getByText(/olga muted max for (1 min|60 s): spamming links/)
      .waitFor();
    const box = composer(max, 'ops');
    await max
      .getByRole('status')
      .filter({ hasText: /You are muted — \d+ s left/ })
      .waitFor();
    expect(await box.isDisabled()).toBe(true);
    expect(await box.getAttribute('placeholder')).toMatch(/You are muted — (\d+ s|1 min) left/);

    // Unmute brings the composer back.
    await say(olga, 'ops', '/unmute max');
    await log(max, 'ops').getByText('olga unmuted max').waitFor();
    await box.waitFor({ state: 'visible' });
    expect(await box.isDisabled()).toBe(false);

    // A kick tells max why and takes the channel out of his sidebar.
    await say(olga, 'ops', '/kick max enough');
    await max.getByRole('alert').filter({ hasText: 'You were removed from #ops by olga. Reason: enough' }).waitFor();
    await max.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: /ops/ }).waitFor({ state: 'detached' });
    expect(stage.errors.join('\n')).toBe('');
  });
});
