export type StreamFailure =
  | 'unauthorized'
  | 'not-found'
  | 'unreachable'
  | 'timeout'
  | 'no-video'
  | 'stalled'
  | 'ended'
  | 'error';

export interface ClassifiedFailure {
  kind: StreamFailure;
  message: string;
}

const rules: { pattern: RegExp; kind: StreamFailure; message: string }[] = [
  { pattern: /401 Unauthorized/i, kind: 'unauthorized', message: 'RTSP 401 Unauthorized — check the user name and password in the camera URL' },
  { pattern: /403 Forbidden/i, kind: 'unauthorized', message: 'RTSP 403 Forbidden — the camera refused this user' },
  { pattern: /404 Not Found|454 Session Not Found/i, kind: 'not-found', message: 'RTSP 404 Not Found — check the stream path in the camera URL' },
  { pattern: /Connection refused/i, kind: 'unreachable', message: 'connection refused — is the camera on and the port right?' },
  { pattern: /No route to host|Network is unreachable|Host is unreachable/i, kind: 'unreachable', message: 'host unreachable — check the camera address and network' },
  { pattern: /Name or service not known|Temporary failure in name resolution|Failed to resolve hostname/i, kind: 'unreachable', message: 'host name does not resolve' },
  { pattern: /Connection timed out|timed out|Operation timed out/i, kind: 'timeout', message: 'connection timed out — the camera does not answer' },
  { pattern: /does not contain any stream|matches no streams|Stream map .* matches no streams|no video stream/i, kind: 'no-video', message: 'the stream has no video track' },
];

/** Turns ffmpeg's stderr (already stripped of credentials) into one specific, actionable failure. */
export function classifyFfmpegFailure(stderr: string, exitCode: number | null): ClassifiedFailure {
  for (const rule of rules) if (rule.pattern.test(stderr)) return { kind: rule.kind, message: rule.message };
  if (exitCode === 0 || exitCode === null) return { kind: 'ended', message: 'the stream ended (camera disconnected or restarted)' };
  const lastLine = stderr.trim().split('\n').filter(Boolean).pop();
  return { kind: 'error', message: lastLine ? `ffmpeg failed: ${lastLine.slice(0, 300)}` : `ffmpeg exited with code ${exitCode}` };
}
