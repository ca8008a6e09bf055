import { ValidationPipe } from '@nestjs/common';
import { ListTasksQuery } from './list-tasks.query';

const pipe = new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true });
const parse = (query: Record<string, string>) =>
  pipe.transform(query, { type: 'query', metatype: ListTasksQuery }) as Promise<ListTasksQuery>;

describe('ListTasksQuery', () => {
  it('defaults to the newest first, 50 a page', async () => {
    const filter = (await parse({})).toFilter();
    expect(filter).toMatchObject({ ordering: '-date_done', offset: 0, limit: 50 });
  });

  it('turns filters and paging into a repository filter', async () => {
    const query = await parse({
      status: 'FAILURE',
      worker: 'w1',
      date_done_after: '2026-01-01T00:00:00Z',
      page: '3',
      page_size: '20',
      ordering: 'date_created',
    });
    expect(query.toFilter()).toMatchObject({
      status: 'FAILURE',
      worker: 'w1',
      dateDoneFrom: new Date('2026-01-01T00:00:00Z'),
      ordering: 'date_created',
      offset: 40,
      limit: 20,
    });
  });

  it.each([
    [{ status: 'DONE' }, 'status'],
    [{ page: '0' }, 'page'],
    [{ page: 'two' }, 'page'],
    [{ page_size: '501' }, 'page_size'],
    [{ page: '1e21' }, 'page'],
    [{ page: '99999999999999999999' }, 'page'],
    [{ page: '-1' }, 'page'],
    [{ page: '1.5' }, 'page'],
    [{ page: '0x10' }, 'page'],
    [{ page_size: '1e1' }, 'page_size'],
    [{ page_size: '' }, 'page_size'],
    [{ ordering: 'id' }, 'ordering'],
    [{ date_created_after: '2026-02-30' }, 'date_created_after'],
    [{ date_done_before: 'yesterday' }, 'date_done_before'],
    [{ stauts: 'SUCCESS' }, 'stauts'],
  ])('refuses %j naming %s', async (query, name) => {
    const error = await parse(query).then(
      () => null,
      (e: { getResponse(): { statusCode: number; message: string[] } }) => e.getResponse(),
    );
    expect(error?.statusCode).toBe(400);
    expect(error?.message.length).toBeGreaterThan(0);
    for (const message of error!.message) expect(message).toContain(name);
  });
});
