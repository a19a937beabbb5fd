import { generate, generateSecret, generateURI, verify } from 'otplib';

/** A fresh base32 secret (20 bytes) and the otpauth:// URL an authenticator app imports. */
export function newTotpEnrolment(username: string): { secret: string; otpauthUrl: string } {
  const secret = generateSecret();
  return { secret, otpauthUrl: generateURI({ issuer: 'Volet', label: username, secret }) };
}

/**
 * Checks a 6-digit code allowing one step of clock drift either way; returns the matched time step,
 * or undefined. Steps at or before `afterStep` are refused, so a code works once.
 */
export async function checkTotp(secret: string, code: string, afterStep: number): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  const result = await verify({ secret, token: code, epochTolerance: 30, afterTimeStep: afterStep > 0 ? afterStep : undefined });
  if (!result.valid || !('timeStep' in result)) return undefined;
  return result.timeStep;
}

/** The current code (tests and tools only). */
export function totpNow(secret: string, epochSeconds?: number): Promise<string> {
  return generate({ secret, epoch: epochSeconds });
}
