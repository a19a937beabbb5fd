import { Cam } from 'onvif';
import type { VoletConfig } from '../config/schema.ts';
import { maskUrl } from '../log/logger.ts';
import type { ShutterState } from './types.ts';

/** Tells a camera itself that its shutter changed, e.g. so a PTZ camera turns to face a wall. */
export interface ShutterHook {
  /** For log lines: "http" or "onvif". */
  readonly kind: string;
  open(): Promise<void>;
  close(): Promise<void>;
}

type HookConfig = NonNullable<VoletConfig['privacy']['cameras'][string]['hook']>;
type HttpHookConfig = NonNullable<HookConfig['http']>;
type OnvifHookConfig = NonNullable<HookConfig['onvif']>;

/** Requests the configured URL; POST and PUT carry `{ camera, state }` as JSON. Any non-2xx answer is an error. */
export class HttpHook implements ShutterHook {
  readonly kind = 'http';

  constructor(
    private readonly camera: string,
    private readonly config: HttpHookConfig,
  ) {}

  open(): Promise<void> {
    return this.request('open', this.config.open);
  }

  close(): Promise<void> {
    return this.request('closed', this.config.close);
  }

  private async request(state: ShutterState, url: string): Promise<void> {
    const method = this.config.method;
    const withBody = method !== 'GET';
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: withBody ? { 'content-type': 'application/json' } : undefined,
        body: withBody ? JSON.stringify({ camera: this.camera, state }) : undefined,
        signal: AbortSignal.timeout(this.config.timeoutSeconds * 1000),
        redirect: 'error',
      });
    } catch (err) {
      const cause = (err as Error).name === 'TimeoutError' ? `no answer within ${this.config.timeoutSeconds} s` : describe(err);
      throw new Error(`${method} ${shown(url)} failed: ${cause}`);
    }
    await response.body?.cancel();
    if (!response.ok) throw new Error(`${method} ${shown(url)} answered ${response.status} ${response.statusText}`);
  }
}

/** Moves an ONVIF PTZ camera to a preset, given by name (looked up) or by token. */
export class OnvifHook implements ShutterHook {
  readonly kind = 'onvif';
  private cam?: Promise<Cam>;

  constructor(private readonly config: OnvifHookConfig) {}

  open(): Promise<void> {
    return this.gotoPreset(this.config.openPreset);
  }

  close(): Promise<void> {
    return this.gotoPreset(this.config.closePreset);
  }

  private async gotoPreset(preset: string): Promise<void> {
    const where = shown(this.config.url);
    try {
      const cam = await this.connected();
      const presets = await call<Record<string, string>>((cb) => cam.getPresets({}, cb)).catch(() => ({}) as Record<string, string>);
      await call((cb) => cam.gotoPreset({ preset: presets[preset] ?? preset }, cb));
    } catch (err) {
      this.cam = undefined; // reconnect next time
      throw new Error(`ONVIF ${where}: going to preset "${preset}" failed: ${describe(err)}`);
    }
  }

  private connected(): Promise<Cam> {
    this.cam ??= (async () => {
      const url = new URL(this.config.url);
      const secure = url.protocol === 'https:';
      const cam = new Cam({
        hostname: url.hostname,
        port: url.port ? Number(url.port) : secure ? 443 : 80,
        path: url.pathname,
        useSecure: secure,
        username: this.config.user,
        password: this.config.password,
        timeout: this.config.timeoutSeconds * 1000,
        autoconnect: false,
        preserveAddress: true,
      });
      await call((cb) => cam.connect(cb));
      return cam;
    })();
    return this.cam;
  }
}

/** A URL fit for the log: no password, no query string (camera CGIs often carry credentials there). */
function shown(url: string): string {
  const parsed = new URL(url);
  return maskUrl(`${parsed.protocol}//${parsed.username ? `${parsed.username}:${parsed.password}@` : ''}${parsed.host}${parsed.pathname}`);
}

function call<T = unknown>(run: (cb: (err: Error | null, data?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => run((err, data) => (err ? reject(err) : resolve(data as T))));
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/** The hooks configured for a camera (none, http, onvif or both). */
export function hooksFor(camera: string, config: HookConfig | undefined): ShutterHook[] {
  const hooks: ShutterHook[] = [];
  if (config?.http) hooks.push(new HttpHook(camera, config.http));
  if (config?.onvif) hooks.push(new OnvifHook(config.onvif));
  return hooks;
}
