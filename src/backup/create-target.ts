import { z } from 'zod';
import { secret, secretUrl } from '../config/secret.ts';
import { DropboxTarget } from './dropbox-target.ts';
import { FolderTarget } from './folder-target.ts';
import { FtpTarget } from './ftp-target.ts';
import { SftpTarget } from './sftp-target.ts';
import { BackupTargetError, type BackupTarget } from './target.ts';
import { WebdavTarget } from './webdav-target.ts';

const url = secretUrl(z.string().min(1));
const password = secret(z.string()).optional();
const ftpShape = {
  url,
  password,
  certificateSha256: z.string().optional().describe('Accept exactly this TLS certificate (SHA-256 fingerprint).'),
  insecure: z.boolean().optional().describe('Accept any TLS certificate.'),
  timeoutMs: z.number().int().positive().optional(),
};

/** Protocol settings of one backup target, by type. Keys for the runner (concurrency …) are ignored here. */
export const backupTargetConfigSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('folder'), url }),
  z.object({ type: z.literal('ftp'), ...ftpShape }),
  z.object({ type: z.literal('ftps'), ...ftpShape }),
  z.object({
    type: z.literal('sftp'),
    url,
    password,
    privateKeyPath: z.string().optional(),
    passphrase: secret(z.string()).optional(),
    hostKeySha256: z.string().optional().describe('The server host key fingerprint, "SHA256:…".'),
    connectTimeoutMs: z.number().int().positive().optional(),
  }),
  z.object({ type: z.literal('webdav'), url, username: z.string().optional(), password }),
  z.object({
    type: z.literal('dropbox'),
    url: url.default('dropbox:///'),
    appKey: z.string().min(1),
    refreshToken: secret(z.string().min(1)),
    appSecret: secret(z.string()).optional(),
    chunkSizeBytes: z.number().int().positive().optional(),
    apiBaseUrl: secretUrl(z.string().url()).optional(),
    contentBaseUrl: secretUrl(z.string().url()).optional(),
  }),
]);

export type BackupTargetConfig = z.input<typeof backupTargetConfigSchema>;

/** Builds the adapter for one configured target; a bad configuration fails with the target's name. */
export function createTarget(name: string, config: BackupTargetConfig): BackupTarget {
  const parsed = backupTargetConfigSchema.safeParse(config);
  if (!parsed.success) {
    // Report paths and problems only: the values may be secrets.
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`).join('; ');
    throw new BackupTargetError(name, 'rejected', `invalid configuration: ${problems}`);
  }
  const settings = parsed.data;
  try {
    switch (settings.type) {
      case 'folder':
        return new FolderTarget(name, settings);
      case 'ftp':
      case 'ftps':
        return new FtpTarget(name, { ...settings, secure: settings.type === 'ftps' });
      case 'sftp':
        return new SftpTarget(name, settings);
      case 'webdav':
        return new WebdavTarget(name, settings);
      case 'dropbox':
        return new DropboxTarget(name, settings);
    }
  } catch (error) {
    if (error instanceof BackupTargetError) throw error;
    // new URL() quotes the input in its message; the URL may carry a password.
    throw new BackupTargetError(name, 'rejected', `invalid url for a ${settings.type} target`);
  }
}
