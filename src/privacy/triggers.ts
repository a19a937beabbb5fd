import { unknownCamera, type VoletConfig } from '../config/schema.ts';

export type PrivacyConfig = VoletConfig['privacy'];

/** Which triggers can move one camera's shutter, as configured. */
export interface CameraTriggers {
  /** A resident at home closes it. */
  presence: boolean;
  /** Names of the schedules that apply to it. */
  schedules: string[];
  /** A triggered intrusion alarm opens it. */
  intrusion: boolean;
  /** Minutes after which a manual close reopens; 0 = never. Only on cameras without presence. */
  autoReopenMinutes: number;
  /** Camera-side hooks: "http", "onvif". */
  hooks: string[];
}

const listed = (cameras: string[] | undefined, camera: string) => cameras === undefined || cameras.includes(camera);

export function cameraTriggers(privacy: PrivacyConfig, camera: string): CameraTriggers {
  const presence = privacy.presence.closeWhenHome && Object.keys(privacy.residents).length > 0 && listed(privacy.presence.cameras, camera);
  const own = privacy.cameras[camera];
  return {
    presence,
    schedules: privacy.schedules.filter((s) => listed(s.cameras, camera)).map((s) => s.name),
    intrusion: privacy.intrusion.token !== undefined && listed(privacy.intrusion.cameras, camera),
    autoReopenMinutes: presence ? 0 : (own?.autoReopenMinutes ?? privacy.autoReopenMinutes),
    hooks: [...(own?.hook?.http ? ['http'] : []), ...(own?.hook?.onvif ? ['onvif'] : [])],
  };
}

/**
 * What the schema cannot check on its own: camera names must exist, and every token must be
 * distinct (a token names exactly one resident, or the alarm). Empty when the section is sound.
 */
export function privacyProblems(privacy: PrivacyConfig, cameras: readonly string[]): string[] {
  const problems: string[] = [];
  const known = new Set(cameras);
  const check = (path: string, names: readonly string[] | undefined) => {
    for (const name of names ?? []) if (!known.has(name)) problems.push(`${path}: ${unknownCamera(name, cameras)}`);
  };
  check('privacy.presence.cameras', privacy.presence.cameras);
  check('privacy.intrusion.cameras', privacy.intrusion.cameras);
  privacy.schedules.forEach((s, i) => check(`privacy.schedules[${i}].cameras`, s.cameras));
  for (const name of Object.keys(privacy.cameras)) {
    if (!known.has(name)) problems.push(`privacy.cameras.${name}: ${unknownCamera(name, cameras)}`);
  }
  const owners = new Map<string, string>();
  const claim = (token: string, path: string) => {
    const other = owners.get(token);
    if (other) problems.push(`${path}: the same token as ${other}; every resident and the alarm need their own`);
    else owners.set(token, path);
  };
  for (const [name, resident] of Object.entries(privacy.residents)) claim(resident.token, `privacy.residents.${name}.token`);
  if (privacy.intrusion.token) claim(privacy.intrusion.token, 'privacy.intrusion.token');
  return problems;
}
