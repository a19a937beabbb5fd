import { z } from 'zod';

/** The whole configuration and every default lives here; docs/CONFIG.md and volet.example.yml follow it. */

const between = (min: number, max: number) => `must be between ${min} and ${max}`;
const intBetween = (min: number, max: number) =>
  z.number().int('must be a whole number').min(min, between(min, max)).max(max, between(min, max));
const numBetween = (min: number, max: number) => z.number().min(min, between(min, max)).max(max, between(min, max));

const rtspUrl = z
  .string()
  .regex(/^(rtsps?:\/\/[^\s]+|file:\/\/\/.+)$/, 'must be an rtsp://, rtsps:// or file:/// URL');

const point = z.tuple([z.number().min(0, 'must be ≥ 0'), z.number().min(0, 'must be ≥ 0')]);
export const polygonSchema = z.array(point).min(3, 'a polygon needs at least 3 points [x, y]');

export const DEFAULT_LABELS = {
  person: 0.5,
  bird: 0.5,
  cat: 0.5,
  dog: 0.5,
  horse: 0.5,
  sheep: 0.5,
  cow: 0.5,
  elephant: 0.5,
  bear: 0.5,
  zebra: 0.5,
  giraffe: 0.5,
} as const satisfies Record<string, number>;

const labelScores = z
  .record(z.string().min(1), numBetween(0, 1))
  .describe('Labels to track, each with its minimum score (0–1).');

const detectSchema = z
  .strictObject({
    fps: intBetween(1, 30).default(5).describe('Frames per second decoded for motion and detection.'),
    width: intBetween(64, 1920).default(640).describe('Width of the decoded detect stream in pixels.'),
    height: intBetween(64, 1080).default(360).describe('Height of the decoded detect stream in pixels.'),
    stallSeconds: intBetween(2, 120).default(10).describe('Restart ffmpeg when no frame arrived for this long.'),
  })
  .prefault({});

const motionSchema = z
  .strictObject({
    threshold: intBetween(1, 255).default(25).describe('Per-pixel luma difference that counts as change.'),
    minArea: numBetween(0, 1).default(0.0015).describe('Smallest motion area, as a fraction of the frame.'),
    masks: z.array(polygonSchema).default([]).describe('Polygons (detect-size pixels) where motion is ignored.'),
  })
  .prefault({});

const recordSchema = z
  .strictObject({
    mode: z
      .enum(['off', 'events', 'motion', 'continuous'])
      .default('events')
      .describe('What is recorded: nothing, tracked events, any motion, or everything.'),
    preRollSeconds: intBetween(0, 60).default(5).describe('Seconds kept before an event or motion starts.'),
    postRollSeconds: intBetween(0, 300).default(10).describe('Seconds kept after it ends.'),
  })
  .prefault({});

const cameraSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Set false to keep the camera configured but stopped.'),
  main: rtspUrl.describe('Main (full resolution) RTSP stream, recorded without re-encoding.'),
  sub: rtspUrl.optional().describe('Sub (low resolution) RTSP stream used for detection; main is used when absent.'),
  detect: detectSchema,
  objects: labelScores.optional().describe('Labels to track with their minimum score; defaults to detector.labels.'),
  motion: motionSchema,
  zones: z
    .record(z.string().regex(/^[a-z0-9_-]+$/i, 'zone names use letters, digits, - and _'), polygonSchema)
    .default({})
    .describe('Named polygons (detect-size pixels); events list the zones they entered.'),
  record: recordSchema,
});

const cameraName = z.string().regex(/^[a-z0-9_-]{1,32}$/, 'camera names use 1–32 lowercase letters, digits, - and _');

const retentionSchema = z
  .strictObject({
    continuousDays: intBetween(0, 3650).default(7).describe('Days continuous footage is kept.'),
    eventDays: intBetween(0, 3650).default(30).describe('Days event footage and snapshots are kept.'),
    minFreeGb: numBetween(0, 100000).default(2).describe('Delete oldest footage to keep at least this many GB free.'),
    minFreePercent: numBetween(0, 90).default(5).describe('…and at least this share of the disk free.'),
    maxSizeGb: numBetween(0, 1_000_000).optional().describe('Optional cap on the space Volet uses, in GB.'),
  })
  .prefault({});

const storageSchema = z
  .strictObject({
    path: z.string().min(1).default('./storage').describe('Data directory: vault files and the SQLite index.'),
    cachePath: z
      .string()
      .min(1)
      .default('/dev/shm/volet')
      .describe('RAM-only directory (tmpfs) for plaintext segments before encryption.'),
    segmentSeconds: intBetween(2, 60).default(4).describe('Length of recorded segments.'),
    retention: retentionSchema,
  })
  .prefault({});

const detectorSchema = z
  .strictObject({
    model: z
      .string()
      .min(1)
      .default('yolox_nano.onnx')
      .describe('Model file name in the models directory, or a path.'),
    threads: intBetween(1, 64).default(2).describe('CPU threads for one inference.'),
    providers: z
      .array(z.enum(['cpu', 'cuda', 'openvino', 'dml', 'coreml']))
      .min(1)
      .default(['cpu'])
      .describe('onnxruntime execution providers, in order of preference.'),
    scoreThreshold: numBetween(0, 1).default(0.3).describe('Detections below this score are discarded early.'),
    nmsThreshold: numBetween(0, 1).default(0.45).describe('IoU above which same-label boxes are merged.'),
    labels: labelScores.default({ ...DEFAULT_LABELS }),
  })
  .prefault({});

const webSchema = z
  .strictObject({
    host: z.string().min(1).default('0.0.0.0').describe('Address the web viewer listens on.'),
    port: intBetween(1, 65535).default(8443).describe('Port of the web viewer.'),
    https: z.boolean().default(true).describe('Serve HTTPS with a self-signed certificate unless cert/key are given.'),
    cert: z.string().optional().describe('Path to a PEM certificate.'),
    key: z.string().optional().describe('Path to a PEM private key.'),
    sessionIdleHours: intBetween(1, 24 * 30)
      .default(12)
      .describe('Sign a browser out after this many hours without use.'),
    sessionMaxDays: intBetween(1, 365).default(30).describe('Sign a browser out this many days after login, used or not.'),
    liveLingerSeconds: intBetween(0, 600)
      .default(10)
      .describe('Keep a live-view stream running this long after its last viewer leaves.'),
    trustProxy: z
      .boolean()
      .default(false)
      .describe('Take the client address from X-Forwarded-For (only behind your own reverse proxy).'),
  })
  .prefault({});

const backupTargetSchema = z.strictObject({
  type: z.enum(['ftp', 'ftps', 'sftp', 'folder', 'webdav', 'dropbox']).describe('Protocol of the backup target.'),
  url: z.string().min(1).describe('Where to back up, e.g. ftp://user:${FTP_PASSWORD}@nas/volet or /mnt/nas/volet.'),
  what: z.enum(['events', 'everything']).default('events').describe('Back up event footage only, or everything.'),
  retentionDays: intBetween(1, 3650).default(90).describe('Days kept on the target.'),
});

const backupSchema = z
  .strictObject({
    targets: z.record(z.string().regex(/^[a-z0-9_-]+$/), backupTargetSchema).default({}),
  })
  .prefault({});

const notificationsSchema = z
  .strictObject({
    cooldownSeconds: intBetween(0, 86400).default(60).describe('Minimum time between notifications per camera.'),
    ntfy: z.string().url().optional().describe("URL of the user's own ntfy topic."),
    gotify: z.string().url().optional().describe("URL of the user's own Gotify server, with ?token=."),
  })
  .prefault({});

const privacySchema = z
  .strictObject({
    restore: z
      .enum(['last', 'closed', 'open'])
      .default('last')
      .describe('Shutter state at start-up: restore the last one, or fail closed/open.'),
  })
  .prefault({});

const logSchema = z
  .strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info').describe('Log level.'),
  })
  .prefault({});

export const configSchema = z.strictObject({
  cameras: z
    .record(cameraName, cameraSchema)
    .default({})
    .describe('Cameras by name. With none configured, `volet run` starts a built-in demo camera.'),
  storage: storageSchema,
  detector: detectorSchema,
  web: webSchema,
  backup: backupSchema,
  notifications: notificationsSchema,
  privacy: privacySchema,
  log: logSchema,
});

export type VoletConfig = z.infer<typeof configSchema>;
export type CameraConfig = z.infer<typeof cameraSchema>;
export type DetectorConfig = VoletConfig['detector'];
