// Owns migration versions: parsing `MAJOR.MINOR.PATCH[-prerelease]` (Semantic Versioning 2.0.0,
// without build metadata and without leading zeros, so that two spellings of one version cannot
// both exist) and ordering them by semver precedence: 1.10.0 after 1.9.0, 1.0.0-rc.1 before 1.0.0.

const VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?$/;

/** True when `text` is a version litepool accepts for a migration. */
export function isVersion(text: string): boolean {
  return VERSION.test(text);
}

/** Compares digit strings without leading zeros (any length, no precision loss). */
function compareNumeric(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareIdentifier(a: string, b: string): number {
  const aNumeric = /^\d+$/.test(a);
  const bNumeric = /^\d+$/.test(b);
  if (aNumeric && bNumeric) return compareNumeric(a, b);
  if (aNumeric !== bNumeric) return aNumeric ? -1 : 1; // numeric identifiers sort first
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Orders two versions by semver precedence: negative when `a` comes first, 0 when equal.
 * Both must satisfy isVersion().
 */
export function compareVersions(a: string, b: string): number {
  const ma = VERSION.exec(a);
  const mb = VERSION.exec(b);
  if (!ma || !mb) throw new RangeError(`not a version: ${ma ? b : a}`);
  for (let i = 1; i <= 3; i++) {
    const order = compareNumeric(ma[i]!, mb[i]!);
    if (order !== 0) return order;
  }
  const pa = ma[4];
  const pb = mb[4];
  if (pa === undefined || pb === undefined) return pa === pb ? 0 : pa === undefined ? 1 : -1;
  const ia = pa.split('.');
  const ib = pb.split('.');
  for (let i = 0; i < Math.min(ia.length, ib.length); i++) {
    const order = compareIdentifier(ia[i]!, ib[i]!);
    if (order !== 0) return order;
  }
  return ia.length - ib.length;
}

/**
 * The next version after `version` for a new migration file (1.0.0 first): its `part` raised by
 * one, as `npm version` does. A prerelease is followed by its release when that is the version
 * asked for: patch of 1.2.3-rc.1 is 1.2.3, minor of 1.3.0-rc.1 is 1.3.0, major of 2.0.0-rc.1 is
 * 2.0.0 (but minor of 1.2.3-rc.1 is 1.3.0).
 */
export function bumpVersion(version: string | undefined, part: 'major' | 'minor' | 'patch'): string {
  if (version === undefined) return '1.0.0';
  const match = VERSION.exec(version);
  if (!match) throw new RangeError(`not a version: ${version}`);
  const [major, minor, patch] = [BigInt(match[1]!), BigInt(match[2]!), BigInt(match[3]!)];
  const prerelease = match[4] !== undefined;
  if (part === 'major') return prerelease && minor === 0n && patch === 0n ? `${major}.0.0` : `${major + 1n}.0.0`;
  if (part === 'minor') return prerelease && patch === 0n ? `${major}.${minor}.0` : `${major}.${minor + 1n}.0`;
  return prerelease ? `${major}.${minor}.${patch}` : `${major}.${minor}.${patch + 1n}`;
}
