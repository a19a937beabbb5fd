/** `npm run bench -- <name...>`: runs the named benchmarks (all when none is named). */
const benches: Record<string, () => Promise<(args: string[]) => Promise<void>>> = {
  detect: async () => (await import('./detect.ts')).benchDetect,
  pipeline: async () => (await import('./pipeline.ts')).benchPipeline,
  vault: async () => (await import('./vault.ts')).benchVault,
  login: async () => (await import('./login.ts')).benchLogin,
  notify: async () => (await import('./notify.ts')).benchNotify,
  mqtt: async () => (await import('./mqtt.ts')).benchMqtt,
  scale: async () => (await import('./scale.ts')).benchScale,
  soak: async () => (await import('./soak.ts')).benchSoak,
  accuracy: async () => (await import('./accuracy.ts')).benchAccuracy,
  timeline: async () => (await import('./timeline.ts')).benchTimeline,
  faces: async () => (await import('./faces.ts')).benchFaces,
};

const [name, ...args] = process.argv.slice(2);
const selected = name ? [name] : Object.keys(benches);
for (const bench of selected) {
  const load = benches[bench];
  if (!load) {
    process.stderr.write(`Unknown benchmark "${bench}". Available: ${Object.keys(benches).join(', ')}\n`);
    process.exit(2);
  }
  process.stdout.write(`\n## ${bench}\n`);
  await (await load())(args);
}
