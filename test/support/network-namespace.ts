import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

/**
 * Runs a command in a new network namespace whose only interface is loopback (so all of
 * 127.0.0.0/8 is there and nothing else), with /etc/resolv.conf pointing at `nameserver` (a
 * loopback address) in a private mount namespace. Root uses `unshare --net --mount`; anyone else
 * also needs a user namespace (`--map-root-user`), where the kernel allows it.
 */

const asRoot = process.getuid?.() === 0;
const UNSHARE = ['unshare', ...(asRoot ? [] : ['--map-root-user']), '--net', '--mount', '--'];

/** `[command, ...args]` that runs `argv` in the isolated namespace. */
export function isolatedCommand(argv: readonly string[], resolvConfPath: string, nameserver: string): string[] {
  writeFileSync(resolvConfPath, `nameserver ${nameserver}\n`);
  const quoted = argv.map((arg) => `'${arg.replaceAll("'", `'\\''`)}'`).join(' ');
  return [...UNSHARE, 'sh', '-ec', `mount --bind '${resolvConfPath}' /etc/resolv.conf; ip link set lo up; exec ${quoted}`];
}

/** Why commands cannot be isolated and traced here, or undefined when they can. */
export function isolationUnavailable(): string | undefined {
  for (const tool of ['unshare', 'strace', 'ip']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
    if (found.status !== 0) return `${tool} is not installed (scripts/setup.sh installs util-linux, strace and iproute2)`;
  }
  const probe = spawnSync(UNSHARE[0], [...UNSHARE.slice(1), 'sh', '-ec', 'ip link set lo up; strace -f -qq -e trace=connect true'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (probe.status !== 0) {
    return `cannot make a loopback-only network namespace and trace in it: ${(probe.stderr || probe.error?.message || '').trim()}`;
  }
  return undefined;
}
