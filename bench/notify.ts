import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EventBus, type ObjectEvent } from '../src/events/bus.ts';
import { createLogger } from '../src/log/logger.ts';
import { Notifier } from '../src/notify/notifier.ts';
import { NotifyRepository } from '../src/notify/repository.ts';
import { openDatabase } from '../src/storage/database.ts';
import { PushServiceStandIn } from '../test/support/push-service.ts';
import { option } from './options.ts';

/**
 * `npm run bench -- notify [--events N] [--subscriptions M]`: from `event:start` on the bus to the
 * push request received, VAPID-checked and decrypted by a push-service stand-in on loopback —
 * p50/p95/max over N events (cooldown 0), with the event's notification fanned out to M browsers
 * (latency = until the last of them decrypted it). Target: ≤ 1 s.
 */

const WARMUP = 2;

export async function benchNotify(args: string[]): Promise<void> {
  const events = option(args, '--events', 20);
  const fanOuts = args.includes('--subscriptions') ? [option(args, '--subscriptions', 1)] : [1, 5];
  for (const subscriptions of fanOuts) await run(events, subscriptions);
}

async function run(events: number, subscriptions: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'volet-bench-notify-'));
  const push = await PushServiceStandIn.start();
  const db = openDatabase(join(dir, 'volet.db'));
  const notifier = new Notifier({
    repo: new NotifyRepository(db),
    logger: createLogger('silent'),
    viewerBaseUrl: 'https://nvr.home.arpa:8443',
    presence: () => 'away',
    config: { cooldownSeconds: 0, pushServices: [push.origin], allowedHosts: [] },
  });
  try {
    for (let i = 0; i < subscriptions; i++) notifier.subscribe(1, push.subscribe().json);
    const bus = new EventBus();
    notifier.attach(bus);

    const latencies: number[] = [];
    for (let i = 0; i < WARMUP + events; i++) {
      const event: ObjectEvent = {
        id: `bench-${i}`,
        camera: 'porch',
        label: 'person',
        score: 0.9,
        start: Date.now(),
        zones: [],
        box: { x: 0, y: 0, width: 10, height: 20 },
      };
      const expected = (i + 1) * subscriptions;
      const t0 = performance.now();
      bus.emit('event:start', event);
      await push.waitForReceived(expected);
      const done = Math.max(...push.received.slice(expected - subscriptions).map((p) => p.receivedAt));
      if (i >= WARMUP) latencies.push(done - t0);
      await notifier.idle();
    }
    if (push.rejected.length > 0) throw new Error(`stand-in rejected ${push.rejected.length} pushes: ${push.rejected[0].reason}`);
    const { p50, p95, max } = percentiles(latencies);
    const verdict = p95 <= 1000 ? 'OK (target ≤ 1000 ms)' : 'ABOVE the 1000 ms target';
    print(
      `event:start → decrypted by the push service, ${events} events × ${subscriptions} subscription(s): ` +
        `p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${max.toFixed(1)} ms — ${verdict}`,
    );
  } finally {
    await notifier.close();
    db.close();
    await push.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function percentiles(values: number[]): { p50: number; p95: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: pick(0.5), p95: pick(0.95), max: sorted[sorted.length - 1] };
}

const print = (line: string) => process.stdout.write(`${line}\n`);

// `npx tsx bench/notify.ts` works on its own too (bench/main.ts does not list it yet).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await benchNotify(process.argv.slice(2));
