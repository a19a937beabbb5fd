/** Runs a command body; an error becomes one clear line on stderr and a non-zero exit code. */
export async function runOrExit(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
