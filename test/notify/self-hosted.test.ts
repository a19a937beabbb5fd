import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIG_RECIPIENT, NotifyInputError } from '../../src/notify/notifier.ts';
import { harness, personEvent, VIEWER, type HarnessOptions } from './harness.ts';
import { RecordingServer } from './recording-server.ts';

const ALICE = 1;

let server: RecordingServer;
before(async () => {
  server = await RecordingServer.start();
});
after(() => server.stop());

/** A notifier whose administrator allowed the stand-in's host (notifications.allowedHosts). */
const allowedHarness = (over: HarnessOptions = {}) => harness({ ...over, config: { allowedHosts: [server.host], ...over.config } });

const event = () =>
  personEvent({ id: 'evt-99', camera: 'porch', label: 'person', start: Date.UTC(2026, 4, 17, 9, 30, 0), zones: ['door'], score: 0.91 });

test('ntfy receives a POST to the topic with Title, Tags, Click, Bearer token and a plain-text body', async () => {
  const h = await allowedHarness({ timeZone: 'Europe/Paris' });
  server.requests.length = 0;
  try {
    const target = h.notifier.addTarget(ALICE, { kind: 'ntfy', url: `${server.origin}/volet-alerts`, token: 'tk_AbC123' });
    assert.equal(target.hasToken, true);
    assert.ok(!JSON.stringify(target).includes('tk_AbC123'), 'the token is never handed back');

    await h.emitStart(event());

    assert.equal(server.requests.length, 1);
    const [req] = server.requests;
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/volet-alerts');
    assert.equal(req.headers.title, 'person at porch');
    assert.equal(req.headers.tags, 'rotating_light');
    assert.equal(req.headers.click, `${VIEWER}/#/events/evt-99`);
    assert.equal(req.headers.authorization, 'Bearer tk_AbC123');
    assert.equal(req.body, 'person at porch, 2026-05-17 11:30:00 +02:00');
    assert.equal(h.notifier.targets(ALICE)[0].failures, 0);
    assert.notEqual(h.notifier.targets(ALICE)[0].lastSuccess, null);
  } finally {
    await h.close();
  }
});

test('Gotify receives POST /message?token=… with a JSON title and message', async () => {
  const h = await allowedHarness({ timeZone: 'UTC' });
  server.requests.length = 0;
  try {
    // The token may come inside the URL, as in the config file.
    const target = h.notifier.addTarget(ALICE, { kind: 'gotify', url: `${server.origin}/gotify/?token=AppTok.1` });
    assert.equal(target.url, `${server.origin}/gotify/`);

    await h.emitStart(event());

    assert.equal(server.requests.length, 1);
    const [req] = server.requests;
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/gotify/message?token=AppTok.1');
    assert.match(String(req.headers['content-type']), /^application\/json/);
    assert.deepEqual(JSON.parse(req.body), {
      title: 'person at porch',
      message: 'person at porch, 2026-05-17 09:30:00 +00:00',
      priority: 8,
      extras: { 'client::notification': { click: { url: `${VIEWER}/#/events/evt-99` } } },
    });
  } finally {
    await h.close();
  }
});

test('the targets in the config file (notifications.ntfy, .gotify) are notified, whatever the viewer accounts may see', async () => {
  const h = await harness({
    // No allowedHosts: the config file's own targets need none. And the auth module, as in
    // `volet run`, knows no viewer account 0 and allows it nothing: the config recipient is not one.
    mayNotify: () => false,
    config: { cooldownSeconds: 0, ntfy: `${server.origin}/house-topic`, gotify: `${server.origin}/?token=cfgtok` },
  });
  server.requests.length = 0;
  try {
    const report = await h.notifier.notifyEvent(event());
    assert.deepEqual(server.requests.map((r) => r.path).sort(), ['/house-topic', '/message?token=cfgtok']);
    assert.equal(report.notified[0].userId, CONFIG_RECIPIENT);
    assert.deepEqual(
      report.notified[0].deliveries.map((d) => [d.channel, d.id, d.outcome]),
      [
        ['ntfy', null, 'sent'],
        ['gotify', null, 'sent'],
      ],
    );
    // Their rules can be tuned like a user's.
    h.notifier.setRule(CONFIG_RECIPIENT, { camera: '*', labels: ['car'] });
    await h.notifier.notifyEvent(event());
    assert.equal(server.requests.length, 2);
  } finally {
    await h.close();
  }
});

test('a self-hosted server answering 503 is retried', async () => {
  const h = await allowedHarness();
  server.requests.length = 0;
  server.script.push(503, 503);
  try {
    h.notifier.addTarget(ALICE, { kind: 'ntfy', url: `${server.origin}/retry-topic` });
    const report = await h.notifier.notifyEvent(event());
    assert.equal(server.requests.length, 3);
    assert.equal(report.notified[0].deliveries[0].outcome, 'sent');
    assert.equal(report.notified[0].deliveries[0].attempts, 3);
  } finally {
    await h.close();
  }
});

test('bad targets are refused: no topic, no Gotify token, credentials in the URL, other schemes', async () => {
  const h = await harness({ config: { allowedHosts: ['ntfy.example', 'gotify.example', 'api.pushover.net'] } });
  try {
    for (const input of [
      { kind: 'ntfy', url: 'https://ntfy.example/' },
      { kind: 'gotify', url: 'https://gotify.example/' },
      { kind: 'ntfy', url: 'https://user:pass@ntfy.example/topic' },
      { kind: 'ntfy', url: 'ftp://ntfy.example/topic' },
      { kind: 'pushover', url: 'https://api.pushover.net/' },
      { kind: 'ntfy', url: 'https://ntfy.example/topic', token: 'has space' },
    ]) {
      assert.throws(() => h.notifier.addTarget(ALICE, input), NotifyInputError, JSON.stringify(input));
    }
    assert.deepEqual(h.notifier.targets(ALICE), []);
  } finally {
    await h.close();
  }
});

test('a user with targets and push subscriptions gets both, and removing a target stops it', async () => {
  const h = await allowedHarness();
  server.requests.length = 0;
  try {
    const target = h.notifier.addTarget(ALICE, { kind: 'ntfy', url: `${server.origin}/both` });
    await h.notifier.sendTest(ALICE);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].headers.title, 'Test notification at Volet');
    assert.equal(h.notifier.removeTarget(ALICE, target.id), true);
    await h.notifier.sendTest(ALICE);
    assert.equal(server.requests.length, 1);
  } finally {
    await h.close();
  }
});

test('targets are refused off notifications.allowedHosts; host:port allows that port only', async () => {
  const other = await RecordingServer.start();
  const h = await harness({ config: { allowedHosts: [server.host, 'ntfy.home.arpa'] } });
  try {
    for (const url of [
      `${other.origin}/topic`,
      'http://127.0.0.1:22/topic',
      'http://169.254.169.254/latest/meta-data',
      'http://localhost/topic',
      `http://[::1]:${new URL(server.origin).port}/topic`,
      'https://ntfy.home.arpa.evil.example/topic',
    ]) {
      assert.throws(
        () => h.notifier.addTarget(ALICE, { kind: 'ntfy', url }),
        (err: unknown) => err instanceof NotifyInputError && /allowedHosts/.test(err.message),
        url,
      );
    }
    assert.equal(h.notifier.addTarget(ALICE, { kind: 'ntfy', url: 'https://ntfy.home.arpa:8443/topic' }).kind, 'ntfy', 'a bare host allows any port');
    assert.equal(h.notifier.addTarget(ALICE, { kind: 'gotify', url: `${server.origin}/?token=t0k` }).kind, 'gotify');
    assert.equal(h.notifier.targets(ALICE).length, 2);
    assert.equal(other.requests.length, 0);
  } finally {
    await h.close();
    await other.stop();
  }
});

test('a stored target whose host is not (or no longer) allowed is never contacted', async () => {
  const h = await harness({ config: { allowedHosts: [] } });
  server.requests.length = 0;
  try {
    // A row saved before notifications.allowedHosts existed, or before the administrator removed the host.
    h.db
      .prepare("INSERT INTO notify_targets (user_id, kind, url, token, created) VALUES (?, 'ntfy', ?, NULL, 0)")
      .run(ALICE, `${server.origin}/old-topic`);
    const report = await h.notifier.sendTest(ALICE);
    assert.deepEqual(
      report.deliveries.map((d) => [d.channel, d.outcome, d.attempts]),
      [['ntfy', 'blocked', 0]],
    );
    await h.emitStart(event());
    assert.equal(server.requests.length, 0);
    assert.match(h.logs(), /notification destination not allowed, not contacted/);
  } finally {
    await h.close();
  }
});

test('an allowed server cannot redirect a notification to another host', async () => {
  const elsewhere = await RecordingServer.start();
  const h = await allowedHarness();
  server.requests.length = 0;
  server.script.push({ status: 307, headers: { location: `${elsewhere.origin}/stolen` } });
  try {
    h.notifier.addTarget(ALICE, { kind: 'ntfy', url: `${server.origin}/redirecting` });
    const report = await h.notifier.sendTest(ALICE);
    assert.equal(server.requests.length, 1);
    assert.equal(elsewhere.requests.length, 0, 'the redirect was not followed');
    assert.deepEqual([report.deliveries[0].outcome, report.deliveries[0].status], ['failed', 307]);
  } finally {
    await h.close();
    await elsewhere.stop();
  }
});
