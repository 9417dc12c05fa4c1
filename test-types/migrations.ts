// Owns the type tests of migrations: db.migrate / db.migrations options and reports, JS migration
// functions receiving a typed transaction, open()'s migrations option, and the misuse refused at
// compile time. Compiled only, never run.

import { MigrationError, open, type MigrationDefinition, type MigrationState, type Pool } from '../lib/index.ts';

declare const db: Pool;

export async function accepted(): Promise<void> {
  const report = await db.migrate({ dir: 'migrations', to: '1.4.0', allowOutOfOrder: true, lockTimeout: 1000, signal: AbortSignal.timeout(5000) });
  const version: string = report.applied[0]!.version;
  const ms: number = report.applied[0]!.durationMs;
  const current: string | null = report.current;
  void [version, ms, current];
  await db.migrate({ dir: 'migrations', dryRun: true });
  const list: MigrationDefinition[] = [
    { version: '1.0.0', name: 'users', up: 'CREATE TABLE users (id INTEGER PRIMARY KEY)', down: 'DROP TABLE users' },
    {
      version: '1.1.0',
      name: 'seed',
      up: async (tx) => {
        const { changes } = await tx.run('INSERT INTO users (id) VALUES (?)', [1]);
        const row = await tx.get<{ id: number }>('SELECT id FROM users');
        void [changes, row?.id];
      },
    },
  ];
  await db.migrate({ migrations: list });
  for (const entry of await db.migrations.status({ dir: 'migrations' })) {
    const state: MigrationState = entry.state;
    if (entry.state === 'failed') void entry.error;
    void state;
  }
  await db.migrations.repair({ dir: 'migrations', version: '1.3.0', action: 'accept-checksum' });
  const down = await db.migrations.down({ dir: 'migrations', to: '1.0.0', dryRun: true });
  void down.reverted;
  await open('app.db', { migrations: { dir: 'migrations', lockTimeout: 60_000 } });
  try {
    await db.migrate({ dir: 'migrations' });
  } catch (error) {
    if (error instanceof MigrationError && error.code === 'LITEPOOL_MIGRATION_CHECKSUM') void error.file;
  }
}

export async function refused(): Promise<void> {
  // @ts-expect-error a directory or a list, not both
  await db.migrate({ dir: 'migrations', migrations: [] });
  // @ts-expect-error one of the two is required
  await db.migrate({ to: '1.0.0' });
  // @ts-expect-error the repair actions are a closed set
  await db.migrations.repair({ dir: 'migrations', version: '1.0.0', action: 'drop' });
  // @ts-expect-error down needs `to`
  await db.migrations.down({ dir: 'migrations' });
  // @ts-expect-error open() migrates for real: no dryRun there
  await open('app.db', { migrations: { dir: 'migrations', dryRun: true } });
  // @ts-expect-error a version is a string
  await db.migrate({ migrations: [{ version: 1, name: 'x', up: 'SELECT 1' }] });
  // @ts-expect-error the codes are a closed set
  const code: MigrationError['code'] = 'LITEPOOL_MIGRATION_OOPS';
  void code;
}
