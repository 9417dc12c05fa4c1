// Owns how the benchmarks name the litepool build they measure: SQLite compiled with a recorded
// profile (`npm run build:pgo`, as the Linux prebuilds are) or without one (a plain source build).

/** 'profile-guided' or 'plain', from the addon the compiled library loads (dist/ must exist). */
export async function litepoolBuild() {
  const { binding } = await import('../../dist/native/binding.js');
  return binding().profileGuided ? 'profile-guided' : 'plain';
}
