import { loadAppConfig } from '@app/config';
import { migrateDatabase } from '@app/persistence';

/** `npm run db:migrate`: creates the database if needed and applies pending migrations, then exits. */
async function main() {
  const { DATABASE_URL } = loadAppConfig();
  const applied = await migrateDatabase(DATABASE_URL);
  console.log(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'Database schema is up to date');
}

main().catch((error: Error) => {
  console.error(`Migration failed: ${error.message}`);
  process.exit(1);
});
