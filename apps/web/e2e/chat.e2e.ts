import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asGuest, composer, log, Stage, say, screenshot, signUp } from './world.ts';

/**
 * Story 1: a guest and a registered user, in two browser profiles, chat in the default channel;
 * the typing line appears and clears; a reaction toggles and shows who reacted; the session
 * survives a reload. Also the screenshots of the README (light, dark, phone width).
 */
describe('story 1: two people chat in the browser', () => {
  let stage: Stage;
  beforeAll(async () => {
    stage = await Stage.start();
  });
  afterAll(async () => {
    await stage?.close();
  });

  it('chat, typing line, reactions with who reacted, session kept across a reload', async () => {
    const gina = await stage.page();
    const rita = await stage.page({ colorScheme: 'dark' });
    await asGuest(gina, stage.url, 'gina');
    await signUp(rita, stage.url, 'rita');
    // A newcomer lands in the default channel, with a deep link in the address bar.
    await composer(gina, 'general').waitFor();
    await composer(rita, 'general').waitFor();
    expect(new URL(gina.url()).pathname).toBe('/c/general');

    await say(gina, 'general', 'hello from gina 👋');
    await log(rita, 'general').getByText('hello from gina 👋').waitFor();

    // Typing: rita types, gina sees it; rita sends, the line clears.
    await composer(rita, 'general').pressSequentially('hi gi', { delay: 20 });
    const typing = gina.getByText('rita is typing…');
    await typing.waitFor();
    await composer(rita, 'general').pressSequentially('na!');
    await composer(rita, 'general').press('Enter');
    await log(gina, 'general').getByText('hi gina!').waitFor();
    await typing.waitFor({ state: 'hidden' });

    // Reactions: gina picks 👍 on rita's message; both see the count and who reacted.
    await log(gina, 'general').getByRole('button', { name: "Add a reaction to rita's message" }).click();
    await gina.getByRole('dialog', { name: 'Pick a reaction' }).getByRole('button', { name: 'thumbs up' }).click();
    const forRita = log(rita, 'general').getByRole('button', { name: '👍 1, reacted by gina' });
    await forRita.waitFor();
    expect(await forRita.getAttribute('aria-pressed')).toBe('false');
    // rita adds hers by toggling the same button: 2, by both; gina's own is pressed.
    await forRita.click();
    await log(gina, 'general').getByRole('button', { name: '👍 2, reacted by gina, rita' }).waitFor();
    expect(await log(gina, 'general').getByRole('button', { name: /^👍 2/ }).getAttribute('aria-pressed')).toBe('true');
    // Who reacted shows on hover / focus (title and the tooltip text).
    expect(await log(rita, 'general').getByRole('button', { name: /^👍 2/ }).getAttribute('title')).toBe('gina, rita');
    // gina toggles hers off.
    await log(gina, 'general').getByRole('button', { name: /^👍 2/ }).click();
    await log(rita, 'general').getByRole('button', { name: '👍 1, reacted by rita' }).waitFor();

    await say(rita, 'general', 'Release notes are up: https://example.com/parley/releases/0.2 — the web client is in 🎉');
    await say(gina, 'general', 'Nice! Trying it on my phone next.\nDark mode follows the system too.');
    await log(rita, 'general')
      .getByText(/Trying it on my phone next/)
      .waitFor();
    // At a person's pace: the SDK sends "typing" at most every 2 s, and gina just sent one.
    await composer(gina, 'general').pressSequentially('On my way', { delay: 300 });
    await rita.getByText('gina is typing…').waitFor();
    await screenshot(rita, 'chat-dark');
    await composer(gina, 'general').fill('');
    await screenshot(gina, 'chat-light');

    // Reload: still signed in, same channel, history back.
    await rita.reload();
    await log(rita, 'general').getByText('hello from gina 👋').waitFor();
    await rita.getByText('rita', { exact: true }).first().waitFor();
    await gina.reload();
    await log(gina, 'general').getByText('hi gina!').waitFor();
    expect(await gina.locator('.whoami').textContent()).toContain('gina');

    // Members: both listed with presence and role.
    const members = gina.getByRole('complementary', { name: 'Members' });
    await members
      .getByRole('region', { name: /^Online/ })
      .getByText('rita')
      .waitFor();

    // A phone (touch screen, 390 px): the channel list is one tap away and the composer still works.
    const phone = await stage.page({ width: 390, height: 780, touch: true });
    await asGuest(phone, stage.url, 'pat');
    await composer(phone, 'general').waitFor();
    await say(phone, 'general', 'from my phone');
    await log(gina, 'general').getByText('from my phone').waitFor();
    // The picture is of the settled page: the phone's own line loses "Sending…" once its ack is in
    // (it can land a frame after gina's copy).
    await log(phone, 'general').getByText('Sending…').waitFor({ state: 'detached' });
    await screenshot(phone, 'chat-phone');
    // No hover on a touch screen: a message's add-reaction button shows once its message is tapped,
    // not on every line (and until then a tap there is a tap on the message).
    const add = log(phone, 'general').getByRole('button', { name: "Add a reaction to pat's message" });
    expect(await add.evaluate((b) => getComputedStyle(b.closest('.reactions') as Element).opacity)).toBe('0');
    await log(phone, 'general').getByText('from my phone').tap();
    await expect.poll(() => add.evaluate((b) => getComputedStyle(b.closest('.reactions') as Element).opacity)).toBe('1');
    await add.tap();
    await phone.getByRole('dialog', { name: 'Pick a reaction' }).waitFor();
    await phone.keyboard.press('Escape');
    await phone.getByRole('button', { name: 'Channels' }).click();
    await phone
      .getByRole('navigation', { name: 'Channels' })
      .getByRole('link', { name: /general/ })
      .waitFor();

    expect(stage.errors.join('\n')).toBe('');
  });

  it('two tabs of one user: leaving a channel in one takes the other out of it too', async () => {
    const first = await stage.page();
    await signUp(first, stage.url, 'tabitha');
    await composer(first, 'general').waitFor();
    const second = await first.context().newPage(); // same browser profile: same session
    await second.goto(stage.url);
    await composer(second, 'general').waitFor();
    await first.getByRole('button', { name: 'Leave #general' }).click();
    await second.getByRole('alert').getByText('You left #general in another window.').waitFor();
    const channels = second.getByRole('navigation', { name: 'Channels' });
    await channels.getByRole('link', { name: /general/ }).waitFor({ state: 'detached' });
    await composer(second, 'general').waitFor({ state: 'detached' });
    expect(stage.errors.join('\n')).toBe('');
  });
});
