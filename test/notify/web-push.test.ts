import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Notifier, NotifyInputError } from '../../src/notify/notifier.ts';
import { NotifyRepository } from '../../src/notify/repository.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { PushServiceStandIn } from '../support/push-service.ts';
import { harness, personEvent, type HarnessOptions, VIEWER } from './harness.ts';
import { RecordingServer } from './recording-server.ts';

const [ALICE, BOB, NOBODY] = [1, 2, 404];
import { createServer } from 'node:net';

let push: PushServiceStandIn;
before(async () => {
  push = await PushServiceStandIn.start();
});
after(async () => {
  await push.close();
});

/** A notifier allowed to reach the push service stand-in (notifications.pushServices), and nothing else. */
const pushHarness = (over: HarnessOptions = {}) => harness({ ...over, config: { pushServices: [push.origin], ...over.config } });

test('a person event from the bus reaches the push service and decrypts to exactly the expected JSON', async () => {
  const h = await pushHarness();
  try {
    const browser = push.subscribe();
    h.notifier.subscribe(ALICE, browser.json, 'Firefox/140');
    const event = personEvent({ id: 'evt-7f3a', start: Date.UTC(2026, 4, 17, 9, 30, 0, 250) });
    await h.emitStart(event);

    const [received] = push.receivedBy(browser.id);
    assert.ok(received, 'the push service received the notification');
    assert.equal(
      received.plaintext,
      JSON.stringify({
        camera: 'porch',
        label: 'person',
        time: '2026-05-17T09:30:00.250Z',
        eventId: 'evt-7f3a',
        url: `${VIEWER}/#/events/evt-7f3a`,
      }),
    );
    assert.deepEqual(push.rejected, []);
  } finally {
    await h.close();
  }
});

test('the push service sees only ciphertext, a short TTL, high urgency and our VAPID key', async () => {
  const h = await pushHarness();
  try {
    const browser = push.subscribe();
    h.notifier.subscribe(ALICE, browser.json);
    await h.emitStart(personEvent({ camera: 'backyard', label: 'person' }));

    const [received] = push.receivedBy(browser.id);
    const body = received.body.toString('latin1');
    assert.ok(!body.includes(received.plaintext));
    for (const fragment of ['backyard', 'person', 'camera', 'events', VIEWER]) assert.ok(!body.includes(fragment), fragment);
    assert.equal(received.headers['content-encoding'], 'aes128gcm');
    assert.equal(received.headers.ttl, '60');
    assert.equal(received.headers.urgency, 'high');
    assert.equal(received.vapid.publicKey, h.notifier.vapidPublicKey());
    assert.equal(received.vapid.claims.aud, push.origin);
    assert.match(received.vapid.claims.sub, /^mailto:/);
  } finally {
    await h.close();
  }
});

test('a 410 from the push service removes the subscription, and so does a 404', async () => {
  const h = await pushHarness();
  try {
    const gone = push.subscribe();
    const unknown = push.subscribe();
    const alive = push.subscribe();
    for (const b of [gone, unknown, alive]) h.notifier.subscribe(ALICE, b.json);
    push.setReply(gone.id, 410);
    push.setReply(unknown.id, 404);

    await h.emitStart(personEvent());

    assert.deepEqual(
      h.notifier.subscriptions(ALICE).map((s) => s.endpoint),
      [alive.json.endpoint],
    );
    assert.equal(push.requests.filter((r) => r.id === gone.id).length, 1, 'a 410 is not retried');
  } finally {
    await h.close();
  }
});

test('a 500 is retried with backoff, then succeeds', async () => {
  const h = await pushHarness();
  try {
    const browser = push.subscribe();
    h.notifier.subscribe(ALICE, browser.json);
    push.queueReplies(browser.id, 500, 502);

    const report = await h.notifier.notifyEvent(personEvent());

    assert.deepEqual(
      push.requests.filter((r) => r.id === browser.id).map((r) => r.status),
      [500, 502, 201],
    );
    assert.equal(push.receivedBy(browser.id).length, 1);
    assert.equal(report.notified[0].deliveries[0].outcome, 'sent');
    assert.equal(report.notified[0].deliveries[0].attempts, 3);
    const [stored] = h.notifier.subscriptions(ALICE);
    assert.equal(stored.failures, 0);
    assert.notEqual(stored.lastSuccess, null);
  } finally {
    await h.close();
  }
});

test('a 429 is retried after its Retry-After', async () => {
  const h = await pushHarness();
  try {
    const browser = push.subscribe();
    h.notifier.subscribe(ALICE, browser.json);
    push.queueReplies(browser.id, { status: 429, headers: { 'retry-after': '0' } });

    await h.emitStart(personEvent());

    assert.deepEqual(
      push.requests.filter((r) => r.id === browser.id).map((r) => r.status),
      [429, 201],
    );
  } finally {
    await h.close();
  }
});

test('a subscription that keeps failing is given up after a few attempts and counted', async () => {
  const h = await pushHarness();
  try {
    const browser = push.subscribe();
    h.notifier.subscribe(ALICE, browser.json);
    push.setReply(browser.id, 503);

    const report = await h.notifier.notifyEvent(personEvent());

    assert.equal(push.requests.filter((r) => r.id === browser.id).length, 4);
    assert.deepEqual(report.notified[0].deliveries[0], {
      channel: 'web-push',
      id: h.notifier.subscriptions(ALICE)[0].id,
      origin: push.origin,
      outcome: 'failed',
      attempts: 4,
      status: 503,
    });
    assert.equal(h.notifier.subscriptions(ALICE)[0].failures, 1);
  } finally {
    await h.close();
  }
});

test('a dead or hanging subscription does not stop the others from receiving', async () => {
  const h = await pushHarness({ delivery: { timeoutMs: 300, retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 10 } } });
  try {
    const hanging = push.subscribe();
    const failing = push.subscribe();
    const healthy = push.subscribe();
    const elsewhere = push.subscribe();
    h.notifier.subscribe(ALICE, hanging.json);
    h.notifier.subscribe(ALICE, failing.json);
    h.notifier.subscribe(ALICE, healthy.json);
    h.notifier.subscribe(BOB, elsewhere.json);
    push.setReply(hanging.id, { status: 201, hang: true });
    push.setReply(failing.id, 500);

    const report = await h.notifier.notifyEvent(personEvent());

    assert.equal(push.receivedBy(healthy.id).length, 1);
    assert.equal(push.receivedBy(elsewhere.id).length, 1);
    const alice = report.notified.find((r) => r.userId === ALICE);
    assert.deepEqual(
      alice?.deliveries.map((d) => [d.outcome, d.error ?? d.status]),
      [
        ['failed', 'timed out'],
        ['failed', 500],
        ['sent', 201],
      ],
    );
  } finally {
    await h.close();
  }
});

test('an unreachable push service is a logged failure, not an exception', async () => {
  const nowhere = `http://127.0.0.1:${await closedPort()}`;
  const h = await harness({ delivery: { retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } }, config: { pushServices: [nowhere] } });
  try {
    const browser = push.subscribe();
    h.notifier.subscribe(ALICE, { ...browser.json, endpoint: `${nowhere}/push/nowhere` });
    const report = await h.notifier.notifyEvent(personEvent());
    assert.equal(report.notified[0].deliveries[0].outcome, 'failed');
    assert.equal(report.notified[0].deliveries[0].error, 'ECONNREFUSED');
    assert.match(h.logs(), /notification not delivered/);
  } finally {
    await h.close();
  }
});

test('VAPID keys are generated once and kept across restarts (database reopened), with the subscriptions', async () => {
  const h = await pushHarness();
  try {
    const browser = push.subscribe();
    h.notifier.subscribe(ALICE, browser.json);
    const first = h.notifier.vapidPublicKey();
    assert.equal(Buffer.from(first, 'base64url').length, 65);

    const reopened = openDatabase(h.dbPath);
    const restarted = new Notifier({
      repo: new NotifyRepository(reopened),
      logger: createLogger('silent'),
      viewerBaseUrl: VIEWER,
      presence: () => 'away',
      config: { cooldownSeconds: 0, pushServices: [push.origin], allowedHosts: [] },
    });
    assert.equal(restarted.vapidPublicKey(), first);
    await restarted.notifyEvent(personEvent());
    assert.equal(push.receivedBy(browser.id).length, 1);
    assert.equal(push.receivedBy(browser.id)[0].vapid.publicKey, first);
    await restarted.close();
    reopened.close();
  } finally {
    await h.close();
  }
});

test('the same browser subscribing again is stored once, and belongs to whoever subscribed last', async () => {
  const h = await pushHarness();
  try {
    const browser = push.subscribe();
    h.notifier.subscribe(ALICE, browser.json);
    h.notifier.subscribe(ALICE, browser.json);
    assert.equal(h.notifier.subscriptions(ALICE).length, 1);
    h.notifier.subscribe(BOB, browser.json);
    assert.equal(h.notifier.subscriptions(ALICE).length, 0);
    assert.equal(h.notifier.subscriptions(BOB).length, 1);
    assert.equal(h.notifier.unsubscribe(ALICE, browser.json.endpoint), false, 'nobody removes another user\'s subscription');
    assert.equal(h.notifier.unsubscribe(BOB, browser.json.endpoint), true);
    assert.deepEqual(h.notifier.subscriptions(BOB), []);
  } finally {
    await h.close();
  }
});

test('malformed subscriptions are refused with the path of the problem', async () => {
  const h = await pushHarness();
  try {
    const { json } = push.subscribe();
    const bad = [
      { ...json, endpoint: 'http://push.example.com/x' },
      { ...json, endpoint: 'not a url' },
      { ...json, keys: { ...json.keys, p256dh: Buffer.alloc(33, 2).toString('base64url') } },
      { ...json, keys: { ...json.keys, auth: Buffer.alloc(8).toString('base64url') } },
      { endpoint: json.endpoint },
    ];
    for (const subscription of bad) {
      assert.throws(
        () => h.notifier.subscribe(ALICE, subscription as typeof json),
        (err: unknown) => err instanceof NotifyInputError && err.problems.length > 0,
      );
    }
    assert.deepEqual(h.notifier.subscriptions(ALICE), []);
  } finally {
    await h.close();
  }
});

test('logs name push services by origin only and never contain keys or secrets', async () => {
  const h = await pushHarness({
    delivery: { retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } },
    config: { allowedHosts: [new URL(push.origin).host] },
  });
  try {
    const ok = push.subscribe();
    const failing = push.subscribe();
    const gone = push.subscribe();
    for (const b of [ok, failing, gone]) h.notifier.subscribe(ALICE, b.json);
    push.setReply(failing.id, 500);
    push.setReply(gone.id, 410);
    h.notifier.addTarget(ALICE, { kind: 'ntfy', url: `${push.origin}/ntfy-topic-s3cret`, token: 'tk_ntfy_secret' });
    await h.emitStart(personEvent());

    const logs = h.logs();
    assert.match(logs, /notification not delivered/);
    assert.match(logs, /push subscription expired/);
    assert.ok(logs.includes(push.origin));
    const vapidPrivate = (h.db.prepare('SELECT private_key FROM notify_vapid').get() as { private_key: string }).private_key;
    for (const secret of [vapidPrivate, ok.json.keys.auth, failing.json.keys.auth, ok.id, failing.id, gone.id, 'ntfy-topic-s3cret', 'tk_ntfy_secret']) {
      assert.ok(!logs.includes(secret), `logs leak ${secret}`);
    }
  } finally {
    await h.close();
  }
});

test('sendTest reaches every device of the user, ignoring rules and cooldown', async () => {
  const h = await pushHarness({ config: { cooldownSeconds: 3600 } });
  try {
    const phone = push.subscribe();
    const laptop = push.subscribe();
    h.notifier.subscribe(ALICE, phone.json);
    h.notifier.subscribe(ALICE, laptop.json);
    h.notifier.setRule(ALICE, { camera: '*', enabled: false });

    const first = await h.notifier.sendTest(ALICE);
    const second = await h.notifier.sendTest(ALICE);

    assert.equal(first.sent, 2);
    assert.equal(second.sent, 2);
    const message = JSON.parse(push.receivedBy(phone.id)[0].plaintext);
    assert.deepEqual(Object.keys(message), ['camera', 'label', 'time', 'eventId', 'url']);
    assert.equal(message.eventId, 'test');
    assert.deepEqual(await h.notifier.sendTest(NOBODY), { userId: NOBODY, sent: 0, failed: 0, removed: 0, deliveries: [] });
  } finally {
    await h.close();
  }
});

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('the stand-in really checks: a tampered body, a foreign signature or a wrong audience is refused', async () => {
  const { default: webpush } = await import('web-push');
  const browser = push.subscribe();
  const keys = webpush.generateVAPIDKeys();
  const intruder = webpush.generateVAPIDKeys();
  const details = (vapid = keys) =>
    webpush.generateRequestDetails(browser.json, '{"hello":1}', {
      vapidDetails: { subject: 'mailto:test@volet.invalid', ...vapid },
      contentEncoding: 'aes128gcm',
      TTL: 60,
    });
  const send = async (headers: Record<string, string | number>, body: Buffer) => {
    const clean = Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'Content-Length').map(([k, v]) => [k, String(v)]));
    return (await fetch(browser.json.endpoint, { method: 'POST', headers: clean, body: Uint8Array.from(body) })).status;
  };
  const before = push.rejected.length;

  const good = details();
  const tampered = Buffer.from(good.body);
  tampered[tampered.length - 1] ^= 1;
  assert.equal(await send(good.headers, tampered), 400);

  const forged = details(intruder);
  const k = /k=([\w-]+)/.exec(good.headers.Authorization)![1];
  assert.equal(await send({ ...forged.headers, Authorization: forged.headers.Authorization.replace(/k=[\w-]+/, `k=${k}`) }, forged.body), 401);

  const otherAudience = webpush.getVapidHeaders('https://push.example.net', 'mailto:test@volet.invalid', keys.publicKey, keys.privateKey, 'aes128gcm');
  assert.equal(await send({ ...good.headers, Authorization: otherAudience.Authorization }, good.body), 401);

  assert.equal(await send(good.headers, good.body), 201);
  assert.equal(push.rejected.length, before + 3);
  assert.equal(push.receivedBy(browser.id).at(-1)?.plaintext, '{"hello":1}');
  push.rejected.length = before;
});

test('a stored subscription off the allowed push services is never contacted (e.g. saved before the upgrade)', async () => {
  const lan = await RecordingServer.start();
  const h = await pushHarness();
  try {
    const { json } = push.subscribe();
    h.db
      .prepare('INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, created) VALUES (?, ?, ?, ?, 0)')
      .run(ALICE, `${lan.origin}/router/admin`, json.keys.p256dh, json.keys.auth);
    const report = await h.notifier.sendTest(ALICE);
    await h.emitStart(personEvent());
    assert.deepEqual(report.deliveries.map((d) => [d.outcome, d.attempts, d.origin]), [['blocked', 0, lan.origin]]);
    assert.equal(lan.requests.length, 0);
    assert.equal(h.notifier.subscriptions(ALICE).length, 1, 'kept: the administrator may still allow its service');
  } finally {
    await h.close();
    await lan.stop();
  }
});
