/** `--name <n>` from a benchmark's arguments: a positive whole number, or `fallback` when absent. */
export function option(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} needs a positive whole number`);
  return value;
}

/** `--name <value>` from a benchmark's arguments, or undefined when absent. */
export function textOption(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
  return value;
}

/** Whether a bare `--name` is among a benchmark's arguments. */
export function flag(args: string[], name: string): boolean {
  return args.includes(name);
}
