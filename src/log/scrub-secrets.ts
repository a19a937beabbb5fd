/** Shorter values are not scrubbed: they would blank out ordinary words and numbers in every line. */
export const MIN_SCRUBBED_LENGTH = 4;

export const MASK = '***';

/**
 * A function that replaces every occurrence of the given secrets with `***`, whether written as is,
 * JSON-escaped (once or twice, as in a log line quoting JSON) or URL-encoded.
 */
export function secretScrubber(secrets: Iterable<string>): (text: string) => string {
  const forms = new Set<string>();
  for (const value of secrets) {
    if (value.length < MIN_SCRUBBED_LENGTH) continue;
    const json = JSON.stringify(value).slice(1, -1);
    for (const form of [value, json, JSON.stringify(json).slice(1, -1), encodeURIComponent(value)]) forms.add(form);
  }
  if (forms.size === 0) return (text) => text;
  const alternatives = [...forms].sort((a, b) => b.length - a.length).map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const pattern = new RegExp(alternatives.join('|'), 'g');
  return (text) => text.replace(pattern, MASK);
}
