import { dropDatabase } from '@app/persistence';

export default async function globalTeardown(): Promise<void> {
  if (process.env.DATABASE_URL?.includes('/notify_test_')) await dropDatabase(process.env.DATABASE_URL);
}
