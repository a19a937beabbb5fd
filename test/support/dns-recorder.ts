import { createSocket, type Socket } from 'node:dgram';

/**
 * A DNS server that resolves nothing: it records the name and type of every query it gets and
 * answers REFUSED at once (so a resolver never waits for a timeout). Point a network namespace's
 * /etc/resolv.conf at it to see which names a program tries to resolve.
 */
export interface DnsRecorder {
  readonly queries: { name: string; type: number }[];
  close(): Promise<void>;
}

export async function startDnsRecorder(host: string, port = 53): Promise<DnsRecorder> {
  const socket: Socket = createSocket('udp4');
  const queries: DnsRecorder['queries'] = [];
  socket.on('message', (packet, from) => {
    const question = readQuestion(packet);
    queries.push(question ? { name: question.name, type: question.type } : { name: `<unparsable ${packet.length}-byte packet>`, type: -1 });
    if (packet.length < 12) return;
    const answer = Buffer.from(packet);
    answer[2] = 0x80 | (packet[2] & 0x79); // QR=1, same opcode and RD
    answer[3] = 0x05; // REFUSED, no answers
    answer.writeUInt16BE(question ? 1 : 0, 4); // the first question echoed, nothing else
    answer.writeUInt16BE(0, 6);
    answer.writeUInt16BE(0, 8);
    answer.writeUInt16BE(0, 10);
    socket.send(answer.subarray(0, question?.end ?? 12), from.port, from.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => resolve());
  });
  return { queries, close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
}

/** The first question of a DNS message (RFC 1035 4.1.2), or undefined when it is malformed. */
function readQuestion(packet: Buffer): { name: string; type: number; end: number } | undefined {
  if (packet.length < 12 || packet.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let offset = 12;
  while (offset < packet.length) {
    const length = packet[offset];
    offset += 1;
    if (length === 0) {
      if (offset + 4 > packet.length) return undefined;
      return { name: labels.join('.'), type: packet.readUInt16BE(offset), end: offset + 4 };
    }
    if (length > 63 || offset + length > packet.length) return undefined;
    labels.push(packet.toString('latin1', offset, offset + length));
    offset += length;
  }
  return undefined;
}
