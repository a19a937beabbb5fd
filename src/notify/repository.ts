import type { Db } from '../storage/database.ts';
import { ruleSchema, type NotifyRule } from './rules.ts';
import type { SelfHostedKind, SelfHostedTarget } from './self-hosted.ts';
import { generateVapidKeys, type VapidKeys } from './web-push.ts';

export interface SubscriptionRecord {
  id: number;
  userId: number;
  endpoint: string;
  p256dh: string;
  auth: string;
  userAgent: string | null;
  created: number;
  lastSuccess: number | null;
  failures: number;
}

export interface TargetRecord extends SelfHostedTarget {
  id: number;
  userId: number;
  created: number;
  lastSuccess: number | null;
  failures: number;
}

interface SubscriptionRow {
  id: number;
  user_id: number;
  endpoint: string;
  p256dh: string;
  auth: string;
  user_agent: string | null;
  created: number;
  last_success: number | null;
  failures: number;
}

interface TargetRow {
  id: number;
  user_id: number;
  kind: SelfHostedKind;
  url: string;
  token: string | null;
  created: number;
  last_success: number | null;
  failures: number;
}

const toSubscription = (row: SubscriptionRow): SubscriptionRecord => ({
  id: row.id,
  userId: row.user_id,
  endpoint: row.endpoint,
  p256dh: row.p256dh,
  auth: row.auth,
  userAgent: row.user_agent,
  created: row.created,
  lastSuccess: row.last_success,
  failures: row.failures,
});

const toTarget = (row: TargetRow): TargetRecord => ({
  id: row.id,
  userId: row.user_id,
  kind: row.kind,
  url: row.url,
  ...(row.token === null ? {} : { token: row.token }),
  created: row.created,
  lastSuccess: row.last_success,
  failures: row.failures,
});

function prepareStatements(db: Db) {
  return {
    insertVapid: db.prepare('INSERT OR IGNORE INTO notify_vapid (id, public_key, private_key, created) VALUES (1, ?, ?, ?)'),
    selectVapid: db.prepare('SELECT public_key AS publicKey, private_key AS privateKey FROM notify_vapid WHERE id = 1'),
    upsertSubscription: db.prepare(
      `INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, user_agent, created, last_success, failures)
       VALUES (@userId, @endpoint, @p256dh, @auth, @userAgent, @now, NULL, 0)
       ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id, p256dh = excluded.p256dh, auth = excluded.auth,
         user_agent = excluded.user_agent, created = excluded.created, last_success = NULL, failures = 0
       RETURNING *`,
    ),
    subscriptionsOf: db.prepare('SELECT * FROM push_subscriptions WHERE user_id = ? ORDER BY id'),
    deleteSubscription: db.prepare('DELETE FROM push_subscriptions WHERE user_id = ? AND endpoint = ?'),
    deleteSubscriptionById: db.prepare('DELETE FROM push_subscriptions WHERE id = ?'),
    subscriptionSuccess: db.prepare('UPDATE push_subscriptions SET last_success = ?, failures = 0 WHERE id = ?'),
    subscriptionFailure: db.prepare('UPDATE push_subscriptions SET failures = failures + 1 WHERE id = ?'),
    recipients: db.prepare(
      'SELECT user_id AS userId FROM push_subscriptions UNION SELECT user_id FROM notify_targets ORDER BY userId',
    ),
    rulesOf: db.prepare('SELECT rule FROM notify_rules WHERE user_id = ? ORDER BY camera'),
    saveRule: db.prepare(
      `INSERT INTO notify_rules (user_id, camera, rule, updated) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id, camera) DO UPDATE SET rule = excluded.rule, updated = excluded.updated`,
    ),
    deleteRule: db.prepare('DELETE FROM notify_rules WHERE user_id = ? AND camera = ?'),
    upsertTarget: db.prepare(
      `INSERT INTO notify_targets (user_id, kind, url, token, created, last_success, failures)
       VALUES (@userId, @kind, @url, @token, @now, NULL, 0)
       ON CONFLICT (user_id, kind, url) DO UPDATE SET token = excluded.token, failures = 0
       RETURNING *`,
    ),
    targetsOf: db.prepare('SELECT * FROM notify_targets WHERE user_id = ? ORDER BY id'),
    deleteTarget: db.prepare('DELETE FROM notify_targets WHERE user_id = ? AND id = ?'),
    targetSuccess: db.prepare('UPDATE notify_targets SET last_success = ?, failures = 0 WHERE id = ?'),
    targetFailure: db.prepare('UPDATE notify_targets SET failures = failures + 1 WHERE id = ?'),
    forgetSubscriptions: db.prepare('DELETE FROM push_subscriptions WHERE user_id = ?'),
    forgetRules: db.prepare('DELETE FROM notify_rules WHERE user_id = ?'),
    forgetTargets: db.prepare('DELETE FROM notify_targets WHERE user_id = ?'),
  };
}

/**
 * Notification state in Volet's SQLite file: the VAPID key pair, push subscriptions, rules and
 * self-hosted targets. Times are milliseconds since the epoch; user ids are the web viewer's
 * (`web_users.id`), 0 standing for the config file's targets.
 */
export class NotifyRepository {
  private readonly stmt: ReturnType<typeof prepareStatements>;

  constructor(private readonly db: Db) {
    this.stmt = prepareStatements(db);
  }

  /** The server's VAPID key pair, generated on first use and then kept forever (subscriptions depend on it). */
  vapidKeys(now: number): VapidKeys {
    const existing = this.stmt.selectVapid.get() as VapidKeys | undefined;
    if (existing) return existing;
    const fresh = generateVapidKeys();
    this.stmt.insertVapid.run(fresh.publicKey, fresh.privateKey, now);
    // Another process may have won the race: whatever is stored is the key pair.
    return this.stmt.selectVapid.get() as VapidKeys;
  }

  /** Adds a subscription, or hands an existing endpoint (same browser) to `userId` with its new keys. */
  saveSubscription(
    userId: number,
    subscription: { endpoint: string; p256dh: string; auth: string },
    userAgent: string | null,
    now: number,
  ): SubscriptionRecord {
    const row = this.stmt.upsertSubscription.get({ userId, ...subscription, userAgent, now }) as SubscriptionRow;
    return toSubscription(row);
  }

  subscriptionsOf(userId: number): SubscriptionRecord[] {
    return (this.stmt.subscriptionsOf.all(userId) as SubscriptionRow[]).map(toSubscription);
  }

  removeSubscription(userId: number, endpoint: string): boolean {
    return this.stmt.deleteSubscription.run(userId, endpoint).changes > 0;
  }

  removeSubscriptionById(id: number): void {
    this.stmt.deleteSubscriptionById.run(id);
  }

  subscriptionDelivered(id: number, now: number): void {
    this.stmt.subscriptionSuccess.run(now, id);
  }

  subscriptionFailed(id: number): void {
    this.stmt.subscriptionFailure.run(id);
  }

  /** Users with at least one subscription or self-hosted target. */
  recipients(): number[] {
    return (this.stmt.recipients.all() as { userId: number }[]).map((row) => row.userId);
  }

  /** The user's stored rules; a row that no longer validates is skipped (the default applies). */
  rulesOf(userId: number): NotifyRule[] {
    const rules: NotifyRule[] = [];
    for (const { rule } of this.stmt.rulesOf.all(userId) as { rule: string }[]) {
      try {
        const parsed = ruleSchema.safeParse(JSON.parse(rule));
        if (parsed.success) rules.push(parsed.data);
      } catch {
        // unreadable JSON: skip
      }
    }
    return rules;
  }

  saveRule(userId: number, rule: NotifyRule, now: number): void {
    this.stmt.saveRule.run(userId, rule.camera, JSON.stringify(rule), now);
  }

  removeRule(userId: number, camera: string): boolean {
    return this.stmt.deleteRule.run(userId, camera).changes > 0;
  }

  /** Takes a deleted resident out of every rule's arrivals; returns how many rules changed. */
  forgetResident(residentId: string, now: number): number {
    const rows = this.db.prepare("SELECT user_id AS userId, rule FROM notify_rules WHERE rule LIKE '%' || ? || '%'").all(residentId) as { userId: number; rule: string }[];
    let changed = 0;
    for (const row of rows) {
      let parsed;
      try {
        parsed = ruleSchema.safeParse(JSON.parse(row.rule));
      } catch {
        continue; // unreadable JSON: rulesOf skips it too
      }
      if (!parsed.success || !parsed.data.arrivals.includes(residentId)) continue;
      this.saveRule(row.userId, { ...parsed.data, arrivals: parsed.data.arrivals.filter((id) => id !== residentId) }, now);
      changed++;
    }
    return changed;
  }

  saveTarget(userId: number, target: SelfHostedTarget, now: number): TargetRecord {
    const row = this.stmt.upsertTarget.get({ userId, kind: target.kind, url: target.url, token: target.token ?? null, now }) as TargetRow;
    return toTarget(row);
  }

  targetsOf(userId: number): TargetRecord[] {
    return (this.stmt.targetsOf.all(userId) as TargetRow[]).map(toTarget);
  }

  removeTarget(userId: number, id: number): boolean {
    return this.stmt.deleteTarget.run(userId, id).changes > 0;
  }

  targetDelivered(id: number, now: number): void {
    this.stmt.targetSuccess.run(now, id);
  }

  targetFailed(id: number): void {
    this.stmt.targetFailure.run(id);
  }

  /** Everything stored for a user (their account was deleted). */
  forgetUser(userId: number): void {
    this.db.transaction(() => {
      this.stmt.forgetSubscriptions.run(userId);
      this.stmt.forgetRules.run(userId);
      this.stmt.forgetTargets.run(userId);
    })();
  }
}
