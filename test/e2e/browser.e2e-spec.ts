import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { AppProcess } from '@test/support/app-process';
import { TcpProxy } from '@test/support/tcp-proxy';
import { TestPublisher, eventually, signToken, taskRow, uniqueName, withDatabase } from '@test/support/test-context';

/** Debian's chromium, never a downloaded browser (scripts/install-test-tools.sh installs it). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** The README's screenshots are rewritten with UPDATE_SCREENSHOTS=1; other runs keep theirs out of the tree. */
const SCREENSHOTS =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? join(__dirname, '..', '..', 'docs', 'screenshots')
    : join(tmpdir(), 'notification-service-screenshots');

/**
 * The demo page and the admin dashboard in a real browser, against a gateway process and a worker
 * process: a notification published over AMQP shows up on the demo page and is marked read there;
 * the dashboard shows the task that carried it; a non-admin token gets no dashboard data.
 */
describe('demo page and admin dashboard in a browser', () => {
  const queue = uniqueName('send_notification');
  // A Redis prefix of its own: the dashboard counts the sockets of every gateway that shares one.
  const env = {
    AMQP_QUEUE: queue,
    PORT: '0',
    WORKER_NAME: 'celery@browser-e2e',
    REDIS_CHANNEL_PREFIX: `${uniqueName('browser')}:`,
  };
  // The demo page's mint is off unless switched on; this gateway is the local demo.
  // A short retry: an EventSource the test cuts off reconnects by itself within half a second.
  const gatewayEnv = { ...env, DEMO_TOKEN_MINT: 'true', SSE_RETRY_MS: '500' };
  const user = `demo-${randomUUID().slice(0, 6)}`;
  let gateway: AppProcess;
  let worker: AppProcess;
  let publisher: TestPublisher;
  let browser: Browser;
  let base: string;
  const pageErrors: string[] = [];
  /** The task that carried the notification the demo page received, for the dashboard test. */
  let shippedTask: string;
  /** The task the dashboard test dead-letters (its body is not JSON), for the dead-letter view. */
  let failedTask: string;

  const newPage = async (width = 1280, height = 820): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 1 });
    page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
    page.on('console', (message) => {
      if (
        message.type() === 'error' &&
        !/Failed to load resource: the server responded with a status of 40[13]/.test(message.text())
      )
        pageErrors.push(`${page.url()}: ${message.text()}`);
    });
    return page;
  };
  /** The console errors a stream the test itself cut off leaves (Chromium logs the broken response). */
  const forgiveStreamDrops = () => {
    const dropped = /net::ERR_(INCOMPLETE_CHUNKED_ENCODING|CONNECTION_REFUSED|EMPTY_RESPONSE|CONNECTION_RESET)/;
    const others = pageErrors.filter((error) => !dropped.test(error));
    pageErrors.splice(0, pageErrors.length, ...others);
  };
  const publish = async (body: unknown, taskId = randomUUID()) => {
    await publisher.publish(queue, body as object, { messageId: taskId });
    return taskId;
  };

  beforeAll(async () => {
    [gateway, worker] = await Promise.all([
      AppProcess.start('gateway', gatewayEnv, /Gateway listening/),
      AppProcess.start('worker', env, /consuming/),
    ]);
    base = gateway.httpUrl();
    publisher = await TestPublisher.connect();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([gateway, worker].filter(Boolean).map((app) => app.stop()));
    await publisher?.deleteQueue(queue);
    await publisher?.deleteQueue(`${queue}.dead-letter`);
    await publisher?.close();
  });

  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([]);
  });

  it('demo page: mints a development token, receives a notification published over AMQP and marks it read', async () => {
    const page = await newPage();
    await page.goto(`${base}/demo/`);
    await page.locator('#mint-box').waitFor({ state: 'visible' });
    await page.fill('#mint-user', user);
    await page.click('#mint');
    await eventually(async () => ((await page.inputValue('#token')).split('.').length === 3 ? true : undefined));
    await page.click('#connect');
    await page.locator('#status', { hasText: 'connected' }).waitFor();
    await expect(page.textContent('#unread-badge')).resolves.toBe('0');

    shippedTask = await publish({ user_id: user, message: { text: 'Your order #1042 has shipped' } });
    const item = page.locator('li.notification', { hasText: 'Your order #1042 has shipped' });
    await item.waitFor();
    await expect(item.getAttribute('class')).resolves.toContain('unread');
    await page.locator('#unread-badge', { hasText: /^1$/ }).waitFor();

    await item.locator('button.mark-read').click();
    await page.locator('#unread-badge', { hasText: /^0$/ }).waitFor();
    await eventually(async () => ((await item.getAttribute('class'))?.includes('unread') ? undefined : true));
    const unread = await fetch(`${base}/api/notifications/unread_count`, {
      headers: { authorization: `Bearer ${signToken({ user_id: user })}` },
    });
    expect(await unread.json()).toEqual({ unread_count: 0 });

    // Two more for the screenshot: a read one and unread ones side by side.
    await publish({ user_id: user, message: { text: 'Anna commented on your pull request' } });
    await publish({ user_id: user, message: 'Weekly report is ready' });
    await page.locator('#unread-badge', { hasText: /^2$/ }).waitFor();
    await page.waitForTimeout(1300); // the arrival highlight fades
    await page.screenshot({ path: join(SCREENSHOTS, 'demo.png') });
    // Left open: the dashboard counts its socket.
  });

  it('demo page: shows the token lifetime and refreshes a minted 30 s token in place, the socket staying open', async () => {
    const page = await newPage();
    const refreshUser = `refresh-${randomUUID().slice(0, 6)}`;
    await page.goto(`${base}/demo/`);
    await page.locator('#mint-box').waitFor({ state: 'visible' });
    await page.fill('#mint-user', refreshUser);
    await page.selectOption('#mint-ttl', '30');
    await page.click('#mint');
    await eventually(async () => ((await page.inputValue('#token')).split('.').length === 3 ? true : undefined));
    const first = await page.inputValue('#token');
    await page.click('#connect');
    await page.locator('#status', { hasText: /^connected$/ }).waitFor();
    await page
      .locator('[data-testid="token-lifetime"]', { hasText: /^Token expires in 0:[0-3]\d · refreshed in place/ })
      .waitFor();

    await page.locator('#log li', { hasText: 'token refreshed in place' }).waitFor({ timeout: 40_000 });
    expect(await page.inputValue('#token')).not.toBe(first);
    await page.waitForTimeout(5000); // past the first token's expiry
    await expect(page.textContent('#status')).resolves.toBe('connected');
    const log = await page.locator('#log li').allTextContents();
    expect(log.filter((line) => /reconnect|4001/.test(line))).toEqual([]);
    await publish({ user_id: refreshUser, message: 'after the refresh' });
    await page.locator('li.notification', { hasText: 'after the refresh' }).waitFor();
    await page.close();
  });

  it('demo page: loses the network (context.setOffline) and comes back with nothing missing, each once', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
    const offlineUser = `offline-${randomUUID().slice(0, 6)}`;
    const published = async (text: string) => {
      const taskId = await publish({ user_id: offlineUser, message: text });
      await eventually(() => taskRow(taskId), 15_000, `task ${taskId}`);
    };
    try {
      await page.goto(`${base}/demo/`);
      await page.fill('#token', signToken({ user_id: offlineUser }, undefined, { expiresIn: 600 }));
      await page.click('#connect');
      await page.locator('#status', { hasText: /^connected$/ }).waitFor();
      await published('before the drop');
      await page.locator('li.notification', { hasText: 'before the drop' }).waitFor();

      await context.setOffline(true);
      await page.locator('#status', { hasText: 'reconnecting' }).waitFor({ timeout: 20_000 });
      await published('while offline 1');
      await published('while offline 2');
      await context.setOffline(false);
      await page.locator('#status', { hasText: /^connected$/ }).waitFor({ timeout: 20_000 });
      await page.locator('li.notification', { hasText: 'while offline 2' }).waitFor();
      await page.locator('#unread-badge', { hasText: /^3$/ }).waitFor();
      const texts = await page.locator('li.notification .text').allTextContents();
      expect(texts).toEqual(['while offline 2', 'while offline 1', 'before the drop']);
    } finally {
      await context.close();
    }
  });

  it('demo page with ?transport=sse: receives over Server-Sent Events and, after the server drops the stream, gets what it missed once', async () => {
    // A proxy in front of the gateway, to drop the stream as a load balancer or a restart would.
    const { proxy, url } = await TcpProxy.start(base, 80);
    const proxied = url.replace(/\/$/, '');
    const page = await newPage();
    const sseUser = `sse-${randomUUID().slice(0, 6)}`;
    const published = async (text: string) => {
      const taskId = await publish({ user_id: sseUser, message: text });
      await eventually(() => taskRow(taskId), 15_000, `task ${taskId}`);
    };
    try {
      await page.goto(`${proxied}/demo/?transport=sse`);
      await page.fill('#token', signToken({ user_id: sseUser }, undefined, { expiresIn: 600 }));
      await page.click('#connect');
      await page.locator('#status', { hasText: /^connected$/ }).waitFor();
      await page.locator('#log li', { hasText: `connected as user ${sseUser} over sse` }).waitFor();
      await published('over the stream');
      await page.locator('li.notification', { hasText: 'over the stream' }).waitFor();

      await proxy.cut();
      await page.locator('#status', { hasText: 'reconnecting' }).waitFor({ timeout: 20_000 });
      await published('while dropped 1');
      await published('while dropped 2');
      await proxy.restore();
      await page.locator('#status', { hasText: /^connected$/ }).waitFor({ timeout: 20_000 });
      await page.locator('li.notification', { hasText: 'while dropped 2' }).waitFor();
      await page.locator('#unread-badge', { hasText: /^3$/ }).waitFor();
      expect(await page.locator('li.notification .text').allTextContents()).toEqual([
        'while dropped 2',
        'while dropped 1',
        'over the stream',
      ]);
      // Marking read goes over REST on this transport.
      await page.locator('li.notification', { hasText: 'while dropped 1' }).locator('button.mark-read').click();
      await page.locator('#unread-badge', { hasText: /^2$/ }).waitFor();
    } finally {
      await page.close();
      await proxy.cut();
      forgiveStreamDrops();
    }
  });

  it("Chromium's own EventSource resumes with Last-Event-ID after the server drops the stream", async () => {
    const { proxy, url } = await TcpProxy.start(base, 80);
    const proxied = url.replace(/\/$/, '');
    const page = await newPage();
    const sseUser = `es-${randomUUID().slice(0, 6)}`;
    const published = async (text: string) => {
      const taskId = await publish({ user_id: sseUser, message: text });
      const row = await eventually(() => taskRow(taskId), 15_000, `task ${taskId}`);
      return JSON.parse(row.result as string).notification_id as number;
    };
    type Seen = { ids: string[]; errors: number; opens: number };
    const seen = () => page.evaluate(() => (globalThis as unknown as { seen: Seen }).seen);
    try {
      await page.goto(`${proxied}/demo/`);
      await page.evaluate(
        (token) => {
          const state: Seen = { ids: [], errors: 0, opens: 0 };
          (globalThis as unknown as { seen: Seen }).seen = state;
          const source = new EventSource(`/api/notifications/stream?token=${token}`);
          // `connected`, not `open`: the headers come before the stream has joined its group, and a
          // notification stored in between is before where the stream starts (as for a socket).
          source.addEventListener('connected', () => state.opens++);
          source.addEventListener('notification', (event) => state.ids.push((event as MessageEvent).lastEventId));
          source.onerror = () => state.errors++;
        },
        signToken({ user_id: sseUser }, undefined, { expiresIn: 600 }),
      );
      await eventually(async () => ((await seen()).opens === 1 ? true : undefined));
      const first = await published('first');
      await eventually(async () => ((await seen()).ids.length === 1 ? true : undefined));

      await proxy.cut();
      await eventually(async () => ((await seen()).errors > 0 ? true : undefined));
      const missed = [await published('missed 1'), await published('missed 2')];
      await proxy.restore();
      await eventually(async () => ((await seen()).ids.length === 3 ? true : undefined), 20_000, 'the missed events');
      const live = await published('live');
      await eventually(async () => ((await seen()).ids.length === 4 ? true : undefined));
      expect((await seen()).ids.map(Number)).toEqual([first, ...missed, live]);
    } finally {
      await page.close();
      await proxy.cut();
      forgiveStreamDrops();
    }
  });

  it('demo page: without DEMO_TOKEN_MINT offers no mint and says how to switch it on', async () => {
    const plain = await AppProcess.start('gateway', env, /Gateway listening/);
    try {
      const page = await newPage();
      await page.goto(`${plain.httpUrl()}/demo/`);
      await page
        .locator('[data-testid="mint-note"]', {
          hasText: 'Set DEMO_TOKEN_MINT=true (never in production) to mint tokens here.',
        })
        .waitFor();
      expect(await page.isVisible('#mint')).toBe(false);
      await page.close();
    } finally {
      await plain.stop();
    }
  });

  it('dashboard: an admin sees the task that carried the notification, and its detail', async () => {
    expect(shippedTask).toBeDefined();
    await seedHistory();
    failedTask = await publish('{"user_id": 7, "message": ');
    await eventually(() => taskRow(failedTask), 15_000, 'the failed task');

    const page = await newPage(1440, 960);
    await page.goto(`${base}/admin/`);
    await page.fill('#admin-token', signToken({ user_id: 1, is_staff: true }));
    await page.click('#sign-in');
    await page.locator('#dashboard').waitFor({ state: 'visible' });
    const row = page.locator(`#tasks tbody tr[data-task-id="${shippedTask}"]`);
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain(`user ${user}`);
    await page.locator('[data-testid="dead-letter"]', { hasText: /^1$/ }).waitFor();
    await page.locator('[data-testid="sockets"]', { hasText: /^1$/ }).waitFor(); // the demo page's socket
    expect(await page.locator('#timeline svg rect').count()).toBeGreaterThan(0);

    await page.fill('#filter-user', user);
    await eventually(
      async () => ((await page.locator('#tasks tbody tr').count()) === 3 ? true : undefined),
      10_000,
      'the user filter',
    );
    await row.click();
    const detail = page.locator('#task-detail');
    await detail.waitFor({ state: 'visible' });
    await expect(detail.textContent()).resolves.toContain(shippedTask);
    await expect(detail.locator('pre[data-section="kwargs"]').textContent()).resolves.toContain(
      'Your order #1042 has shipped',
    );
    await expect(detail.locator('pre[data-section="result"]').textContent()).resolves.toContain('notification_id');

    await page.fill('#filter-user', '');
    await page.selectOption('#filter-status', 'FAILURE');
    const failedRow = page.locator(`#tasks tbody tr[data-task-id="${failedTask}"]`);
    await failedRow.waitFor();
    await failedRow.click();
    await detail.locator('pre[data-section="result"]', { hasText: 'DecodeError' }).waitFor();
    await page.selectOption('#filter-status', '');
    await page.locator(`#tasks tbody tr[data-task-id="${shippedTask}"]`).waitFor();
    await page.locator(`#tasks tbody tr[data-task-id="${shippedTask}"]`).click();
    await detail.locator('pre[data-section="kwargs"]', { hasText: 'Your order' }).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard.png'), fullPage: true });
    await page.close();
  });

  it('dashboard: lists dead letters, shows bodies only when asked, requeues one and discards another', async () => {
    expect(failedTask).toBeDefined();
    // A message dead-lettered earlier whose cause has since been fixed: it can go back.
    const fixedTask = randomUUID();
    await publisher.publish(
      `${queue}.dead-letter`,
      { user_id: user, message: 'back from the dead letters' },
      { messageId: fixedTask, headers: { 'x-dead-letter-reason': 'RuntimeError: fixed since' } },
    );
    const page = await newPage(1440, 960);
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${base}/admin/`);
    await page.fill('#admin-token', signToken({ user_id: 1, is_staff: true }));
    await page.click('#sign-in');
    await page.locator('#dashboard').waitFor({ state: 'visible' });
    await page.click('#dl-load');
    const failedRow = page.locator(`#dead-letters tbody tr[data-id="${failedTask}"]`);
    const fixedRow = page.locator(`#dead-letters tbody tr[data-id="${fixedTask}"]`);
    await failedRow.waitFor();
    await expect(failedRow.textContent()).resolves.toContain('DecodeError');
    await expect(fixedRow.textContent()).resolves.toContain('fixed since');
    expect(await page.locator('#dead-letters pre[data-section="preview"]').count()).toBe(0);

    await page.check('#dl-reveal');
    await page
      .locator('#dead-letters pre[data-section="preview"]', { hasText: 'back from the dead letters' })
      .waitFor();

    await fixedRow.locator('input[type=checkbox]').check();
    await page.click('#dl-requeue');
    await page.locator('#dl-status', { hasText: 'Requeued 1' }).waitFor();
    await fixedRow.waitFor({ state: 'detached' });
    expect(await eventually(async () => ((await taskRow(fixedTask))?.status === 'SUCCESS' ? true : undefined))).toBe(
      true,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'dead-letters.png'), fullPage: true });

    await failedRow.locator('input[type=checkbox]').check();
    await page.click('#dl-discard');
    await page.locator('#dl-status', { hasText: 'Discarded 1' }).waitFor();
    await page.locator('#dl-status', { hasText: 'No dead letters' }).waitFor();
    await page.close();
  });

  it('dashboard: a non-admin token gets no data (403 shown), and no token gets 401', async () => {
    const page = await newPage();
    await page.goto(`${base}/admin/`);
    await page.fill('#admin-token', signToken({ user_id: user }));
    await page.click('#sign-in');
    await page.locator('#login-error', { hasText: '403' }).waitFor();
    expect(await page.isVisible('#dashboard')).toBe(false);
    expect(await page.evaluate("sessionStorage.getItem('notify.admin.token')")).toBeNull();
    await page.close();

    for (const path of ['/api/admin/stats', '/api/admin/tasks']) {
      expect((await fetch(`${base}${path}`)).status).toBe(401);
      expect(
        (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${signToken({ user_id: user })}` } }))
          .status,
      ).toBe(403);
    }
  });

  /**
   * Results spread over the last 40 minutes, written as the worker writes them, so the charts in the
   * screenshot show a history rather than one bar (this run's database is the test's own).
   */
  async function seedHistory(): Promise<void> {
    await withDatabase(async (db) => {
      for (let minute = 40; minute >= 1; minute--) {
        const successes = 3 + Math.round(4 + 3 * Math.sin(minute / 4) + (minute % 3));
        const failures = minute % 9 === 0 ? 1 : 0;
        for (let i = 0; i < successes + failures; i++) {
          const status = i < successes ? 'SUCCESS' : 'FAILURE';
          const userId = 100 + ((minute * 7 + i) % 23);
          await db.query(
            `INSERT INTO django_celery_results_taskresult
               (task_id, status, content_type, content_encoding, result, date_done, traceback, meta, task_args, task_kwargs, task_name, worker, date_created)
             VALUES ($1, $2, 'application/json', 'utf-8', $3, now() - make_interval(secs => $4), NULL, '{"children": []}', '[]', $5, 'send_notification', 'celery@seed', now() - make_interval(secs => $4 + $6))`,
            [
              `seed-${randomUUID()}`,
              status,
              status === 'SUCCESS'
                ? `{"notification_id": ${minute * 100 + i}, "group": "Notifications_${userId}"}`
                : '{"exc_type": "TypeError", "exc_message": ["missing user_id"], "exc_module": "builtins"}',
              minute * 60 - i,
              JSON.stringify({ user_id: userId, message: { text: `seeded ${minute}/${i}` } }),
              0.004 + (i % 5) * 0.003,
            ],
          );
        }
      }
    });
  }
});
