import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../log/logger.ts';

const FILE = 'setup-code';
/** Crockford's base32: no I, L, O or U, so nothing is misread; 12 symbols = 60 bits. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const GROUPS = 3;
const GROUP_LENGTH = 4;
const CODE_PATTERN = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;

export const setupCodePath = (dataDir: string) => join(dataDir, FILE);

/** The code the setup page asks for, as Volet keeps it in the data directory (0600); undefined once the administrator exists. */
export function readSetupCode(dataDir: string): string | undefined {
  try {
    const code = readFileSync(setupCodePath(dataDir), 'utf8').trim();
    return CODE_PATTERN.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/** What a person typed, as the code is written: case, spaces and dashes do not matter; O reads as 0, I and L as 1. */
export function normaliseSetupCode(input: string): string {
  const symbols = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return symbols.match(new RegExp(`.{1,${GROUP_LENGTH}}`, 'g'))?.join('-') ?? '';
}

function newSetupCode(): string {
  const groups = Array.from({ length: GROUPS }, () => Array.from({ length: GROUP_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join(''));
  return groups.join('-');
}

const digest = (code: string) => createHash('sha256').update(code).digest();

/**
 * Proof that whoever creates the first administrator can read the box's log or data directory:
 * while no user exists, a one-time code is kept in `<dataDir>/setup-code` (0600) and printed in
 * the log at start; the setup API refuses any other. It is deleted once the administrator exists.
 */
export class SetupCodeGate {
  private constructor(
    private readonly dataDir: string,
    private digest: Buffer | undefined,
  ) {}

  /** With `needed` (no user yet) reuses or creates the code and logs it; otherwise removes a leftover one. */
  static async open(dataDir: string, needed: boolean, logger: Logger): Promise<SetupCodeGate> {
    const path = setupCodePath(dataDir);
    if (!needed) {
      await rm(path, { force: true });
      return new SetupCodeGate(dataDir, undefined);
    }
    let code = readSetupCode(dataDir);
    if (code) {
      chmodSync(path, 0o600);
    } else {
      code = newSetupCode();
      await rm(path, { force: true });
      await writeFile(path, `${code}\n`, { mode: 0o600, flag: 'wx' });
    }
    // The one line an owner looks for in `docker logs`; nothing else in the log carries the code.
    logger.warn(`setup code: ${code} (enter it on the setup page to create the administrator; "volet setup-code" shows it again)`);
    return new SetupCodeGate(dataDir, digest(code));
  }

  /** Timing-safe; always false once the code is used up. */
  matches(input: string): boolean {
    if (!this.digest) return false;
    return timingSafeEqual(digest(normaliseSetupCode(input)), this.digest);
  }

  /** The administrator exists: the code is never accepted again. */
  async consume(): Promise<void> {
    this.digest = undefined;
    await rm(setupCodePath(this.dataDir), { force: true });
  }
}
