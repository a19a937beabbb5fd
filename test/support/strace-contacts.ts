/**
 * Reads what `strace -f -xx -e trace=connect,sendto,sendmsg,sendmmsg` recorded into the socket
 * addresses a process tree tried to reach, and judges them against the hosts it may reach.
 * `-xx` prints every string as \xHH escapes, so addresses and paths parse without ambiguity.
 */

export const STRACE_CONTACT_ARGS = ['-f', '-qq', '--seccomp-bpf', '-xx', '-s', '128', '-e', 'trace=connect,sendto,sendmsg,sendmmsg', '-e', 'signal=none'];

export interface Contact {
  pid: number;
  syscall: string;
  family: 'AF_INET' | 'AF_INET6' | 'AF_UNIX';
  /** IP address (IPv4-mapped IPv6 addresses as plain IPv4), for AF_INET and AF_INET6. */
  host?: string;
  port?: number;
  /** Socket path (abstract ones start with @), for AF_UNIX. */
  path?: string;
}

const SYSCALL = /^(\d+)\s+(connect|sendto|sendmsg|sendmmsg)\(/;
const INET = /sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]*)"\)/g;
const INET6 = /sa_family=AF_INET6, sin6_port=htons\((\d+)\),[^}]*?inet_pton\(AF_INET6, "([^"]*)"/g;
const UNIX = /sa_family=AF_UNIX, sun_path=(@?)"([^"]*)"/g;

/** Every socket address in the trace, in order (one syscall may carry several: sendmmsg). */
export function contactsIn(trace: string): Contact[] {
  const contacts: Contact[] = [];
  for (const line of trace.split('\n')) {
    const call = SYSCALL.exec(line);
    if (!call) continue;
    const base = { pid: Number(call[1]), syscall: call[2] };
    for (const m of line.matchAll(INET)) contacts.push({ ...base, family: 'AF_INET', host: unescape(m[2]), port: Number(m[1]) });
    for (const m of line.matchAll(INET6)) {
      contacts.push({ ...base, family: 'AF_INET6', host: unmapIpv4(unescape(m[2])), port: Number(m[1]) });
    }
    for (const m of line.matchAll(UNIX)) contacts.push({ ...base, family: 'AF_UNIX', path: m[1] + unescape(m[2]) });
  }
  return contacts;
}

/** Sockets of local resolver daemons: a connection to one is a name lookup. */
const RESOLVER_SOCKETS = /^(\/var)?\/run\/(nscd\/socket|systemd\/resolve\/)/;

export interface ContactVerdict {
  /** DNS traffic (anything to port 53) and lookups through a local resolver daemon. */
  nameLookups: Contact[];
  /** AF_INET/AF_INET6 destinations that are not among the allowed hosts. */
  forbidden: Contact[];
  /** Allowed host → number of contacts seen. */
  contacted: Map<string, number>;
}

/** Sorts the contacts: name lookups, destinations off the allowed list, and what was reached. AF_UNIX is local. */
export function judgeContacts(contacts: readonly Contact[], allowedHosts: readonly string[]): ContactVerdict {
  const verdict: ContactVerdict = { nameLookups: [], forbidden: [], contacted: new Map() };
  for (const contact of contacts) {
    if (contact.family === 'AF_UNIX') {
      if (RESOLVER_SOCKETS.test(contact.path ?? '')) verdict.nameLookups.push(contact);
      continue;
    }
    if (contact.port === 53) verdict.nameLookups.push(contact);
    else if (!allowedHosts.includes(contact.host ?? '')) verdict.forbidden.push(contact);
    else verdict.contacted.set(contact.host!, (verdict.contacted.get(contact.host!) ?? 0) + 1);
  }
  return verdict;
}

export function describeContact(contact: Contact): string {
  const where = contact.family === 'AF_UNIX' ? contact.path : `${contact.host}:${contact.port}`;
  return `pid ${contact.pid} ${contact.syscall} ${contact.family} ${where}`;
}

function unescape(text: string): string {
  return text.replace(/\\x([0-9a-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function unmapIpv4(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : address;
}
