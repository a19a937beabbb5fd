/** One <response> of a PROPFIND multistatus: the decoded path and the properties we use. */
export interface DavEntry {
  /** Decoded path part of <href>, e.g. "/dav/porch/a b.volet" (a trailing "/" is kept for folders). */
  readonly path: string;
  readonly isCollection: boolean;
  readonly size?: number;
  readonly modifiedMs?: number;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeXmlText(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, entity: string) => {
    if (entity[0] === '#') {
      const code = entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
      return String.fromCodePoint(code);
    }
    return ENTITIES[entity.toLowerCase()] ?? '';
  });
}

/** Elements by local name, whatever namespace prefix the server chose (D:, d:, lp1:, none). */
function elements(xml: string, localName: string): string[] {
  const pattern = new RegExp(`<(?:[\\w.-]+:)?${localName}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</(?:[\\w.-]+:)?${localName}\\s*>)`, 'g');
  return [...xml.matchAll(pattern)].map((match) => match[1] ?? '');
}

function firstText(xml: string, localName: string): string | undefined {
  const found = elements(xml, localName)[0];
  return found === undefined ? undefined : decodeXmlText(found.trim());
}

/**
 * Parses a WebDAV 207 Multi-Status body (RFC 4918). Only properties inside a 200 propstat count.
 * Deliberately small: no DTDs, no external entities, just the elements a file listing needs.
 */
export function parseMultistatus(xml: string): DavEntry[] {
  const entries: DavEntry[] = [];
  for (const response of elements(xml, 'response')) {
    const href = firstText(response, 'href');
    if (!href) continue;
    let path: string;
    try {
      path = decodeURIComponent(href.startsWith('http://') || href.startsWith('https://') ? new URL(href).pathname : href);
    } catch {
      continue;
    }
    let isCollection = false;
    let size: number | undefined;
    let modifiedMs: number | undefined;
    for (const propstat of elements(response, 'propstat')) {
      const status = firstText(propstat, 'status') ?? '';
      if (!/\s2\d\d\s/.test(` ${status} `)) continue;
      const resourceType = elements(propstat, 'resourcetype')[0];
      if (resourceType !== undefined && elements(resourceType, 'collection').length > 0) isCollection = true;
      const length = firstText(propstat, 'getcontentlength');
      if (length !== undefined && /^\d+$/.test(length)) size = Number(length);
      const modified = firstText(propstat, 'getlastmodified');
      if (modified) {
        const parsed = Date.parse(modified);
        if (!Number.isNaN(parsed)) modifiedMs = parsed;
      }
    }
    entries.push({
      path,
      isCollection: isCollection || path.endsWith('/'),
      ...(size !== undefined ? { size } : {}),
      ...(modifiedMs !== undefined ? { modifiedMs } : {}),
    });
  }
  return entries;
}
