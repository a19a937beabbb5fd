import { z } from 'zod';
import { HWACCELS } from '../camera/hwaccel.ts';
import { backupTargetConfigSchema } from '../backup/create-target.ts';
import { secret, secretUrl } from './secret.ts';
import { httpOrigin, parseHostEntry } from '../notify/destinations.ts';
import { selfHostedTargetSchema } from '../notify/self-hosted.ts';
import { resolveLabelFilter } from '../objects/label-filters.ts';

/** The whole configuration and every default lives here; docs/CONFIG.md and volet.example.yml follow it. */

const between = (min: number, max: number) => `must be between ${min} and ${max}`;
const intBetween = (min: number, max: number) =>
  z.number().int('must be a whole number').min(min, between(min, max)).max(max, between(min, max));
const numBetween = (min: number, max: number) => z.number().min(min, between(min, max)).max(max, between(min, max));

const rtspUrl = secretUrl(
  z.string().regex(/^(rtsps?:\/\/[^\s]+|file:\/\/\/.+)$/, 'must be an rtsp://, rtsps:// or file:/// URL'),
);

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

const labelFilter = z.strictObject({
  minScore: numBetween(0, 1).optional().describe('Detections below this score are not tracked.'),
  threshold: numBetween(0, 1)
    .optional()
    .describe('A track becomes an event once the median of its last 10 scores reaches this (default per label, see the table below).'),
  minArea: numBetween(0, 1).optional().describe('Smallest box, as a fraction of the frame (default per label).'),
  maxArea: numBetween(0, 1).optional().describe('Largest box, as a fraction of the frame (default per label).'),
  minRatio: numBetween(0, 1000).optional().describe('Smallest box width ÷ height (default per label).'),
  maxRatio: numBetween(0, 1000).optional().describe('Largest box width ÷ height (default per label).'),
  masks: z.array(polygonSchema).optional().describe('Polygons (detect-size pixels) where this label is ignored (box bottom centre inside).'),
});

const labelScores = z
  .record(z.string().min(1), z.union([numBetween(0, 1), labelFilter]))
  .superRefine((labels, ctx) => {
    for (const [label, setting] of Object.entries(labels)) {
      try {
        resolveLabelFilter(label, setting);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: [label], message: (err as Error).message });
      }
    }
  })
  .describe('Labels to track: each a minimum score (0–1), or a filter { minScore, threshold, minArea, maxArea, minRatio, maxRatio, masks }.');

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

const inputArgs = z.array(z.string().max(200)).max(32);

const ffmpegSchema = z
  .strictObject({
    hwaccel: z
      .enum(HWACCELS)
      .default('none')
      .describe('Hardware decoding of the detect stream: none, auto (ffmpeg picks), vaapi, qsv, cuda or v4l2m2m (H.264). When the first frames fail, the camera falls back to software decoding and says so once.'),
    inputArgs: inputArgs.default([]).describe('Extra ffmpeg input options for the detect decoder (hardware the presets do not cover), placed before the input.'),
  })
  .prefault({});

const cameraSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Set false to keep the camera configured but stopped.'),
  main: rtspUrl.describe('Main (full resolution) RTSP stream, recorded without re-encoding.'),
  sub: rtspUrl.optional().describe('Sub (low resolution) RTSP stream used for detection; main is used when absent.'),
  detect: detectSchema,
  objects: labelScores.optional().describe('Labels to track on this camera (same form as detector.labels); defaults to detector.labels.'),
  motion: motionSchema,
  zones: z
    .record(z.string().regex(/^[a-z0-9_-]+$/i, 'zone names use letters, digits, - and _'), polygonSchema)
    .default({})
    .describe('Named polygons (detect-size pixels); events list the zones they entered.'),
  record: recordSchema,
  ffmpeg: z
    .strictObject({
      hwaccel: z.enum(HWACCELS).optional().describe('This camera\'s hardware decoding; defaults to ffmpeg.hwaccel.'),
      inputArgs: inputArgs.optional().describe('This camera\'s extra decoder input options; defaults to ffmpeg.inputArgs.'),
    })
    .optional()
    .describe('Per-camera overrides of the top-level ffmpeg settings.'),
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
    segmentSeconds: intBetween(2, 60).default(10).describe('Length of recorded segments (pre-roll and clip edges are rounded to whole segments).'),
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
    port: intBetween(0, 65535).default(8443).describe('Port of the web viewer (0 picks a free one).'),
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

const backupPolicy = {
  what: z.enum(['events', 'everything']).default('events').describe('Back up event footage only, or everything.'),
  retentionDays: intBetween(1, 3650).default(90).describe('Days kept on the target.'),
  concurrency: intBetween(1, 8).default(1).describe('Uploads at once to this target.'),
  bytesPerSecond: z.number().int().min(0).default(0).describe('Upload bandwidth limit in bytes per second (0 = none).'),
  verifyByDownload: z.boolean().default(false).describe('Download each upload again and compare (slow; size and Dropbox hashes are always checked).'),
};

/** Each target type's protocol settings (owned by src/backup) plus what Volet sends there and how. */
const [folderTarget, ftpTarget, ftpsTarget, sftpTarget, webdavTarget, dropboxTarget] = backupTargetConfigSchema.options;
const backupTargetSchema = z.discriminatedUnion('type', [
  folderTarget.extend(backupPolicy).strict(),
  ftpTarget.extend(backupPolicy).strict(),
  ftpsTarget.extend(backupPolicy).strict(),
  sftpTarget.extend(backupPolicy).strict(),
  webdavTarget.extend(backupPolicy).strict(),
  dropboxTarget.extend(backupPolicy).strict(),
]);

const backupSchema = z
  .strictObject({
    targets: z
      .record(z.string().regex(/^[a-z0-9_-]+$/, 'target names use lowercase letters, digits, - and _'), backupTargetSchema)
      .default({})
      .describe("The user's own servers by name; only ciphertext is sent."),
    indexExportMinutes: intBetween(5, 1440).default(60).describe('How often a sealed copy of the index is sent to the targets.'),
  })
  .prefault({});

const pushServiceOrigin = z
  .string()
  .refine((text) => {
    const origin = httpOrigin(text);
    return origin !== undefined && new URL(text).href === `${origin}/`;
  }, 'must be an origin such as https://push.example.org (no path)')
  .transform((text) => new URL(text).origin);
const allowedHost = z
  .string()
  .refine((text) => parseHostEntry(text) !== undefined, 'must be a host name or IP address, optionally with :port (IPv6 in brackets)');

const notificationsSchema = z
  .strictObject({
    cooldownSeconds: intBetween(0, 86400).default(60).describe('Minimum time between notifications per camera.'),
    pushServices: z
      .array(pushServiceOrigin)
      .max(20)
      .default([])
      .describe(
        'More Web Push services (origins, e.g. https://push.example.org) browsers may subscribe through, besides Google FCM, Mozilla, Apple (*.push.apple.com) and Microsoft (*.notify.windows.com).',
      ),
    allowedHosts: z
      .array(allowedHost)
      .max(50)
      .default([])
      .describe(
        'Hosts (host = any port, host:port = that port) where administrators may add ntfy/Gotify targets in the viewer. notifications.ntfy and .gotify need not be listed.',
      ),
    ntfy: secretUrl(z.string().url()).optional().describe("URL of the user's own ntfy topic."),
    gotify: secretUrl(z.string().url()).optional().describe("URL of the user's own Gotify server, with ?token=."),
  })
  .superRefine((notifications, ctx) => {
    for (const kind of ['ntfy', 'gotify'] as const) {
      const url = notifications[kind];
      if (url === undefined) continue;
      const target = selfHostedTargetSchema.safeParse({ kind, url });
      if (!target.success) ctx.addIssue({ code: 'custom', path: [kind], message: target.error.issues[0]?.message ?? 'invalid URL' });
    }
  })
  .prefault({});

const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a 24-hour time "HH:MM"');
const isTimeZone = (name: string) => {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: name });
    return true;
  } catch {
    return false;
  }
};
const secretToken = secret(
  z.string().min(16, 'must be at least 16 characters: use a long random value, e.g. from "openssl rand -hex 24"'),
);
const deviceAddress = z
  .string()
  .regex(
    /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/,
    'must be a host name or IP address, optionally with :port (IPv6 in brackets)',
  );
const httpUrl = secretUrl(z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }));
const weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
const allCameras = (what: string) =>
  z.array(cameraName).optional().describe(`Cameras ${what}; default: every camera.`);

const residentSchema = z.strictObject({
  token: secretToken.describe("This resident's token for POST /api/privacy/presence (Authorization: Bearer)."),
  devices: z
    .array(deviceAddress)
    .default([])
    .describe('Phones on the LAN: a seen device means home. host = ping, host:port = TCP connect to an open port.'),
});

const shutterScheduleSchema = z
  .strictObject({
    name: z.string().min(1).max(64).describe('Shown as who changed the shutter.'),
    cameras: allCameras('the window applies to'),
    days: z
      .array(weekday)
      .min(1)
      .default(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])
      .describe('Days the window starts on (a window crossing midnight ends the next day).'),
    from: clockTime.describe('Local start time, inclusive.'),
    to: z
      .union([clockTime, z.literal('24:00')])
      .describe('Local end time, exclusive; earlier than from = the next day.'),
    state: z.enum(['closed', 'open']).default('closed').describe('Shutter state while the window is active.'),
  })
  .refine((s) => s.from !== s.to, { message: 'from and to must differ', path: ['to'] });

const shutterHookSchema = z.strictObject({
  http: z
    .strictObject({
      open: httpUrl.describe('Requested when the shutter opens.'),
      close: httpUrl.describe('Requested when the shutter closes.'),
      method: z.enum(['GET', 'POST', 'PUT']).default('POST').describe('HTTP method; POST and PUT send {camera, state}.'),
      timeoutSeconds: intBetween(1, 60).default(5).describe('Give up on the request after this long.'),
    })
    .optional()
    .describe('Call a URL when the shutter changes.'),
  onvif: z
    .strictObject({
      url: httpUrl.describe('ONVIF device service, e.g. http://192.168.1.20:8000/onvif/device_service.'),
      user: z.string().optional().describe('ONVIF user name.'),
      password: secret(z.string()).optional().describe('ONVIF password.'),
      openPreset: z.string().min(1).describe('PTZ preset (name or token) to go to when the shutter opens.'),
      closePreset: z.string().min(1).describe('PTZ preset (name or token) to go to when it closes, e.g. facing a wall.'),
      timeoutSeconds: intBetween(1, 60).default(10).describe('Give up on the camera after this long.'),
    })
    .optional()
    .describe('Turn a PTZ camera to a preset when the shutter changes.'),
});

const privacySchema = z
  .strictObject({
    restore: z
      .enum(['last', 'closed', 'open'])
      .default('last')
      .describe('Shutter state at start-up: restore the last one, or fail closed/open.'),
    timeZone: z
      .string()
      .refine(isTimeZone, 'must be an IANA time zone such as "Europe/Paris"')
      .optional()
      .describe("Time zone of the schedules, e.g. Europe/Paris; default: the system's zone."),
    autoReopenMinutes: intBetween(0, 10080)
      .default(0)
      .describe('Reopen a manual close after this many minutes on cameras without presence; 0 = never.'),
    residents: z
      .record(z.string().regex(/^[a-z0-9_-]{1,32}$/i, 'resident names use 1–32 letters, digits, - and _'), residentSchema)
      .default({})
      .describe('People whose presence closes the shutters, each with a token and optional LAN devices.'),
    presence: z
      .strictObject({
        cameras: allCameras('closed while a resident is home'),
        closeWhenHome: z
          .boolean()
          .default(true)
          .describe('Close while any resident is home; false = presence is reported but moves no shutter.'),
        lan: z
          .strictObject({
            intervalSeconds: intBetween(5, 3600).default(30).describe('How often resident devices are probed.'),
            awayAfterMinutes: intBetween(1, 1440)
              .default(10)
              .describe('A resident whose devices were not seen for this long is away.'),
          })
          .prefault({}),
      })
      .prefault({}),
    schedules: z.array(shutterScheduleSchema).default([]).describe('Weekly windows of local time that close (or open) shutters.'),
    intrusion: z
      .strictObject({
        token: secretToken
          .optional()
          .describe('Token of POST /api/privacy/intrusion (alarm panel, door sensor); absent = endpoint off.'),
        cameras: allCameras('opened by a triggered alarm'),
        overridePresence: z
          .boolean()
          .default(true)
          .describe('A triggered alarm opens shutters even while residents are home.'),
      })
      .prefault({}),
    cameras: z
      .record(
        cameraName,
        z.strictObject({
          autoReopenMinutes: intBetween(0, 10080).optional().describe('Overrides privacy.autoReopenMinutes.'),
          hook: shutterHookSchema.optional().describe('Tell the camera itself when its shutter changes.'),
        }),
      )
      .default({})
      .describe('Per-camera privacy settings.'),
  })
  .prefault({});

const mqttName = z.string().regex(/^[a-z0-9_-]{1,32}$/, 'use 1–32 lowercase letters, digits, - and _');
const mqttTopic = z
  .string()
  .regex(/^[^#+\s/][^#+\s]*$/, 'must be a topic without spaces, wildcards (# +) or a leading /')
  .refine((t) => !t.endsWith('/'), 'must not end with /');

const mqttSchema = z
  .strictObject({
    url: secretUrl(z.string().regex(/^mqtts?:\/\/[^\s/]+\/?$/, 'must be mqtt://host:port or mqtts://host:port'))
      .optional()
      .describe("The user's own MQTT broker, e.g. mqtt://192.168.1.10:1883 or mqtts://broker.lan:8883; absent = MQTT off."),
    ca: z.string().min(1).optional().describe('PEM file of the CA that signed the broker certificate (mqtts://): the only CA trusted.'),
    username: z.string().min(1).optional().describe('Broker user name (the broker ACL decides what it may publish and subscribe).'),
    password: secret(z.string().min(1)).optional().describe('Broker password, e.g. ${MQTT_PASSWORD}.'),
    clientId: mqttTopic.optional().describe('MQTT client id; default volet-<boxId>.'),
    boxId: mqttName.optional().describe('Names this box on the broker; default: an id created once in the storage directory.'),
    topicPrefix: mqttTopic.optional().describe('Prefix of every Volet topic; default volet/<boxId>.'),
    keepalive: intBetween(5, 3600).default(30).describe('Seconds between keepalive pings; the broker publishes the last will (offline) after 1.5 × this.'),
    discovery: z.boolean().default(true).describe('Publish Home Assistant MQTT discovery payloads.'),
    discoveryPrefix: mqttTopic.default('homeassistant').describe("Home Assistant's discovery prefix."),
    snapshots: z
      .array(cameraName)
      .default([])
      .describe("Cameras whose event snapshots (JPEG) are published, retained: they leave the vault's protection. Default: none."),
  })
  .refine((m) => m.ca === undefined || m.url?.startsWith('mqtts://'), { message: 'ca needs an mqtts:// url', path: ['ca'] })
  .prefault({});

const facesSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe('Recognise enrolled residents on person events, on the box; false = the face model is never loaded.'),
    entranceCameras: z
      .array(cameraName)
      .default([])
      .describe('Cameras where a recognised resident counts as home (presence source "face"); the resident must have the name of a privacy.residents entry.'),
    presenceTimeoutMinutes: intBetween(0, 10080)
      .default(0)
      .describe('A resident whom only a face made home is away after this long unrecognised; 0 = leaving is decided by the other sources.'),
    arriveAfterMinutes: intBetween(1, 10080)
      .default(60)
      .describe('A recognition is an arrival ("tell me when … arrives") when the resident was away or not recognised for this long.'),
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
  ffmpeg: ffmpegSchema,
  web: webSchema,
  backup: backupSchema,
  notifications: notificationsSchema,
  privacy: privacySchema,
  mqtt: mqttSchema,
  faces: facesSchema,
  log: logSchema,
}).superRefine((config, ctx) => {
  const cameras = Object.keys(config.cameras);
  const references: Array<[path: Array<string | number>, names: readonly string[]]> = [
    [['mqtt', 'snapshots'], config.mqtt.snapshots],
    [['faces', 'entranceCameras'], config.faces.entranceCameras],
  ];
  for (const [path, names] of references) {
    names.forEach((name, i) => {
      if (!cameras.includes(name)) ctx.addIssue({ code: 'custom', path: [...path, i], message: unknownCamera(name, cameras) });
    });
  }
});

/** The error for a camera name that is not one of `cameras`. */
export function unknownCamera(name: string, cameras: readonly string[]): string {
  return `unknown camera "${name}" (${cameras.length > 0 ? `configured cameras: ${cameras.join(', ')}` : 'no camera is configured'})`;
}

export type VoletConfig = z.infer<typeof configSchema>;
export type CameraConfig = z.infer<typeof cameraSchema>;
export type DetectorConfig = VoletConfig['detector'];
