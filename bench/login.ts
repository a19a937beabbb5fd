import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ARGON2ID_CONCURRENCY } from '../src/vault/sodium-argon2id.ts';
import { sodiumBinding } from '../src/vault/sodium.ts';
import { PasswordHasher, type PasswordStrength } from '../src/web/auth/password.ts';
import { option } from './options.ts';

/**
 * `npm run bench -- login [--logins 5] [--rounds 6] [--strength moderate|interactive|minimum]`:
 * the password check of a login (Argon2id crypto_pwhash_str_verify, what POST /api/auth/login
 * waits for) under load — `--logins` verifications started at the same instant, `--rounds` times;
 * p50/p95/max latency of each verification from its start to its answer, the worst event-loop
 * delay meanwhile and the peak RSS. Target: p95 ≤ 1 s for 5 concurrent logins at the web default (INTERACTIVE).
 */

const PASSWORD = 'correct horse battery staple';

export async function benchLogin(args: string[]): Promise<void> {
  const logins = option(args, '--logins', 5);
  const rounds = option(args, '--rounds', 6);
  const strengths: PasswordStrength[] = args.includes('--strength')
    ? [args[args.indexOf('--strength') + 1] as PasswordStrength]
    : ['moderate', 'interactive'];
  print(`libsodium: ${sodiumBinding.name}; at most ${ARGON2ID_CONCURRENCY} Argon2id at once; ${logins} concurrent verifications × ${rounds} rounds`);
  print('| strength | one alone | p50 | p95 | max | worst event-loop delay | peak RSS |');
  print('|---|---|---|---|---|---|---|');
  for (const strength of strengths) await run(strength, logins, rounds);
}

async function run(strength: PasswordStrength, logins: number, rounds: number): Promise<void> {
  const hasher = new PasswordHasher(strength);
  const hash = await hasher.hash(PASSWORD);
  await hasher.verify(hash, PASSWORD); // warm-up: first use of the thread pool
  const aloneStart = performance.now();
  if (!(await hasher.verify(hash, PASSWORD))) throw new Error('the password does not verify');
  const alone = performance.now() - aloneStart;

  const latencies: number[] = [];
  let peakRss = process.memoryUsage().rss;
  const rssSampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  try {
    for (let round = 0; round < rounds; round++) {
      const start = performance.now();
      const answers = await Promise.all(
        Array.from({ length: logins }, (_, i) =>
          hasher.verify(hash, i % 2 ? `${PASSWORD}!` : PASSWORD).then((ok) => {
            latencies.push(performance.now() - start);
            return ok === (i % 2 === 0);
          }),
        ),
      );
      if (!answers.every(Boolean)) throw new Error('a verification gave the wrong answer');
    }
  } finally {
    delay.disable();
    clearInterval(rssSampler);
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)];
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  print(
    `| ${strength} | ${s(alone)} | ${s(at(0.5))} | ${s(at(0.95))} | ${s(latencies[latencies.length - 1])} | ${(delay.max / 1e6).toFixed(0)} ms | ${(peakRss / 2 ** 20).toFixed(0)} MB |`,
  );
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}
