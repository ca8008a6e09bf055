import { Logger } from '@nestjs/common';
import { broadcastFrameOf, notificationFrameOf, readNotificationHead } from '@app/contracts';
import type { StoredBroadcast, StoredNotification } from '@app/contracts';
import { MetricsRegistry } from '@app/metrics';
import type { NotificationRepository } from '@app/persistence';
import { WebSocket } from 'ws';
import { ClientConnection } from './client-connection';
import { WebSocketTransport } from './connection-transport';
import { GatewayMetrics } from './gateway-metrics';

class FakeSocket {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  sent: Array<Record<string, unknown>> = [];
  closedWith: number | null = null;
  send(frame: Buffer | string) {
    this.sent.push(JSON.parse(frame.toString()));
  }
  close(code: number) {
    this.closedWith = code;
    this.readyState = WebSocket.CLOSED;
  }
}

/** One user's inbox, in memory, answering as NotificationRepository does. */
class FakeInbox {
  rows: StoredNotification[] = [];
  failures = 0;
  queries = 0;
  /** Runs once, right after the next read: what happens while a query's answer travels back. */
  afterRead: (() => void) | null = null;
  add(count: number): StoredNotification[] {
    const added = Array.from({ length: count }, (_, i) => {
      const seq = this.rows.length + i + 1;
      return { id: seq * 10, seq, taskId: `t${seq}`, createdAt: new Date(), messageJson: `"m${seq}"` };
    });
    this.rows.push(...added);
    return added;
  }
  private read() {
    this.queries++;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('connect ECONNREFUSED');
    }
    const after = this.afterRead;
    this.afterRead = null;
    if (after) setImmediate(after);
  }
  private end() {
    const last = this.rows[this.rows.length - 1];
    return { id: Number(last?.id ?? 0), seq: Number(last?.seq ?? 0) };
  }
  async position() {
    this.read();
    return this.end();
  }
  async catchUpFrom(_user: string, afterId: number, limit: number) {
    this.read();
    const end = this.end();
    return {
      end,
      rows: this.rows.filter((row) => Number(row.id) > afterId && Number(row.id) <= end.id).slice(0, limit),
    };
  }
  async between(_user: string, afterId: number, upToId: number, limit: number) {
    this.read();
    return this.rows.filter((row) => Number(row.id) > afterId && Number(row.id) <= upToId).slice(0, limit);
  }
  async countBetween(_user: string, afterId: number, upToId: number, limit: number) {
    return Math.min(limit, (await this.between(_user, afterId, upToId, Number.MAX_SAFE_INTEGER)).length);
  }
}

/** The broadcasts table, in memory, answering as BroadcastFeed does. */
class FakeBroadcasts {
  rows: StoredBroadcast[] = [];
  add(...ids: number[]): StoredBroadcast[] {
    const added = ids.map((id) => ({ id, createdAt: new Date(), messageJson: `"b${id}"` }));
    this.rows.push(...added);
    return added;
  }
  async missedAfter(afterId: number, limit: number) {
    return this.rows.filter((row) => Number(row.id) > afterId).slice(0, limit);
  }
}

function setUp({ resumeWindow = 1000, maxBufferedBytes = 1 << 20 } = {}) {
  const socket = new FakeSocket();
  const inbox = new FakeInbox();
  const broadcasts = new FakeBroadcasts();
  const connection = new ClientConnection(new WebSocketTransport(socket as unknown as WebSocket), 'c1', 'u1', {
    inbox: inbox as unknown as NotificationRepository,
    broadcasts,
    metrics: new GatewayMetrics(new MetricsRegistry('test')),
    logger: new Logger('test'),
    resumeWindow,
    maxBufferedBytes,
    maxFramesPerSecond: 20,
  });
  const live = (row: StoredNotification) => {
    const frame = Buffer.from(notificationFrameOf(row));
    connection.receiveNotification(frame, readNotificationHead(frame)!);
  };
  const liveBroadcast = (row: StoredBroadcast) =>
    connection.receiveBroadcast(Buffer.from(broadcastFrameOf(row)), Number(row.id));
  const sentSeqs = () => socket.sent.filter((frame) => frame.event === 'notification').map((frame) => frame.seq);
  const events = () =>
    socket.sent.map((frame) =>
      frame.event === 'notification' ? frame.seq : frame.event === 'broadcast' ? `b${String(frame.id)}` : frame.event,
    );
  return { socket, inbox, broadcasts, connection, live, liveBroadcast, sentSeqs, events };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('ClientConnection', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('starts at the end of the inbox without since, then sends live frames in seq order, each once', async () => {
    const { inbox, connection, live, sentSeqs } = setUp();
    inbox.add(3);
    await connection.start(null);
    const [fourth, fifth] = inbox.add(2);
    live(fourth);
    live(fourth);
    live(inbox.rows[1]);
    live(fifth);
    expect(sentSeqs()).toEqual([4, 5]);
  });

  it('holds live frames that arrive before its position is known, and sends those after it', async () => {
    const { inbox, connection, live, sentSeqs } = setUp();
    const [first, second] = inbox.add(2);
    live(first); // committed and published while the socket was joining: older than where it starts
    live(second);
    inbox.afterRead = () => live(inbox.add(1)[0]); // committed after the position was read
    await connection.start(null);
    await settle();
    expect(sentSeqs()).toEqual([3]);
  });

  it('fills a gap from the inbox when a later frame comes first (another worker’s frame is late or lost)', async () => {
    const { inbox, connection, live, sentSeqs, events } = setUp();
    await connection.start(null);
    const [first, second, third] = inbox.add(3);
    live(first);
    live(third); // 2 was committed before 3 was drawn, but its frame is late
    await settle();
    await settle();
    expect(sentSeqs()).toEqual([1, 2, 3]);
    live(second); // the late frame: already sent
    expect(sentSeqs()).toEqual([1, 2, 3]);
    expect(events()).not.toContain('resumed'); // a gap fill is silent
  });

  it('catches up from since, then releases what came live meanwhile: no gap, no duplicate', async () => {
    const { inbox, connection, live, events } = setUp();
    inbox.add(5);
    inbox.afterRead = () => {
      live(inbox.rows[4]); // 5 arrives live during the catch-up
      live(inbox.add(1)[0]); // and 6, committed after the catch-up's read
    };
    await connection.start(20); // seqs 3, 4, 5 are missed
    await settle();
    expect(events()).toEqual([3, 4, 5, 'resumed', 6]);
  });

  it('retries a catch-up the inbox could not answer, telling the client once, and sends everything it owes (not count 0)', async () => {
    const { inbox, connection, live, socket, events } = setUp();
    inbox.add(3);
    inbox.failures = 2;
    const starting = connection.start(0);
    const [fourth] = inbox.add(1);
    live(fourth);
    await starting;
    expect(events()).toEqual(['error', 1, 2, 3, 4, 'resumed']);
    expect(socket.sent[0]).toEqual({ event: 'error', data: { code: 'unavailable', message: expect.any(String) } });
    expect(socket.sent.find((frame) => frame.event === 'resumed')).toEqual({
      event: 'resumed',
      data: { since: 0, count: 4, last_id: 40 },
    });
  }, 10_000);

  it("puts a resume frame's ref on its unavailable error and its resumed frame, and no ref on one at connect", async () => {
    const { inbox, connection, socket } = setUp();
    inbox.add(1);
    await connection.start(null);
    inbox.failures = 1;
    await connection.resume(0, 'r1');
    expect(socket.sent.map((frame) => [frame.event, frame.ref])).toEqual([
      ['error', 'r1'],
      ['notification', undefined],
      ['resumed', 'r1'],
    ]);
  }, 10_000);

  it('puts the ref on resume_gap', async () => {
    const { inbox, connection, socket } = setUp({ resumeWindow: 1 });
    inbox.add(3);
    await connection.start(null);
    await connection.resume(0, 7);
    expect(socket.sent).toEqual([expect.objectContaining({ event: 'resume_gap', ref: 7 })]);
  });

  it('answers a resume from before what it has with only what it was not sent', async () => {
    const { inbox, connection, live, sentSeqs, socket } = setUp();
    inbox.add(3);
    await connection.start(null); // at seq 3, sent nothing
    const [fourth, fifth] = inbox.add(2);
    live(fourth);
    live(fifth);
    await connection.resume(10);
    expect(sentSeqs()).toEqual([4, 5, 2, 3]);
    expect(socket.sent[socket.sent.length - 1]).toEqual({
      event: 'resumed',
      data: { since: 10, count: 2, last_id: 30 },
    });
  });

  it('answers resume_gap past the window, sends none of it and goes on live from the end', async () => {
    const { inbox, connection, live, events, socket } = setUp({ resumeWindow: 150 });
    inbox.add(200);
    await connection.start(0);
    const [next] = inbox.add(1);
    live(next);
    expect(events()).toEqual(['resume_gap', 201]);
    expect(socket.sent[0]).toEqual({
      event: 'resume_gap',
      data: { since: 0, window: 150, fetch: '/api/notifications?after=0' },
    });
  });

  it('sends a long catch-up page by page, waiting while the client has not read, and stops when it goes away', async () => {
    const { inbox, connection, socket, sentSeqs } = setUp({ maxBufferedBytes: 10_000 });
    inbox.add(300);
    socket.bufferedAmount = 6_000; // over half the limit: nothing more until it drains
    const starting = connection.start(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sentSeqs()).toEqual([]);
    socket.bufferedAmount = 0;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sentSeqs()).toHaveLength(300);
    await starting;
    expect(inbox.queries).toBe(4); // three pages of 100, and counting them against the window

    const second = setUp({ maxBufferedBytes: 10_000 });
    second.inbox.add(300);
    second.socket.bufferedAmount = 6_000;
    const stopped = second.connection.start(0);
    second.socket.close(1000);
    await stopped;
    expect(second.inbox.queries).toBe(0); // a socket gone before its catch-up ran costs no query
    expect(second.sentSeqs()).toEqual([]);
  });

  it('reads the inbox again when more came live during a catch-up than it may hold', async () => {
    const { inbox, connection, live, sentSeqs } = setUp({ maxBufferedBytes: 1000 });
    inbox.add(1);
    inbox.failures = 1;
    const starting = connection.start(0);
    for (const row of inbox.add(30)) live(row); // ~30 frames of ~130 bytes: over 1000
    await starting;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sentSeqs()).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
  }, 10_000);

  it('after an outage, sends what was published meanwhile from where it stands, then resumed', async () => {
    const { inbox, connection, live, events } = setUp();
    await connection.start(null);
    const [first] = inbox.add(1);
    live(first);
    inbox.add(2); // published while this gateway had no Redis: never came
    await connection.resync();
    expect(events()).toEqual([1, 2, 3, 'resumed']);
  });

  describe('broadcasts', () => {
    it('sends the missed ones in id order before held live frames of either kind, each once', async () => {
      const { inbox, broadcasts, connection, live, liveBroadcast, events } = setUp();
      const [b1, b2, b3] = broadcasts.add(1, 2, 3);
      const [n1] = inbox.add(1);
      // Both arrive while the socket starts: held until the catch-up has sent what it missed.
      liveBroadcast(b3);
      live(n1);
      const [b4] = broadcasts.add(4);
      liveBroadcast(b4);
      await connection.start(0, { after: 1, catchUp: true });
      expect(events()).toEqual(['b2', 'b3', 'b4', 1, 'resumed']);
      liveBroadcast(b4);
      liveBroadcast(b1);
      liveBroadcast(b2);
      expect(events()).toEqual(['b2', 'b3', 'b4', 1, 'resumed']);
    });

    it('sends a socket that asked for no backlog only those after where it started', async () => {
      const { broadcasts, connection, liveBroadcast, events } = setUp();
      const [b1, b2] = broadcasts.add(1, 2);
      await connection.start(null, { after: 1, catchUp: false });
      liveBroadcast(b1);
      liveBroadcast(b2);
      expect(events()).toEqual(['b2']);
    });

    it('sends an older id that comes after a newer one (two publishers), once', async () => {
      const { broadcasts, connection, liveBroadcast, events } = setUp();
      const [b5, b6] = broadcasts.add(5, 6);
      await connection.start(null, { after: 4, catchUp: false });
      liveBroadcast(b6);
      liveBroadcast(b5);
      liveBroadcast(b6);
      liveBroadcast(b5);
      expect(events()).toEqual(['b6', 'b5']);
    });

    it('resends nothing this socket was sent when a resume frame asks from before it', async () => {
      const { broadcasts, connection, liveBroadcast, events } = setUp();
      const [b1, b2] = broadcasts.add(1, 2);
      await connection.start(null, { after: 0, catchUp: false });
      liveBroadcast(b1);
      liveBroadcast(b2);
      broadcasts.add(3);
      await connection.resumeBroadcasts(0);
      expect(events()).toEqual(['b1', 'b2', 'b3']);
    });
  });
});
