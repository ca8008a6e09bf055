import { SseSocket } from './sse-socket';
import type { EventSourceLike } from './types';

/** An EventSource the test plays the server of. */
class FakeEventSource implements EventSourceLike {
  static last: FakeEventSource;
  onopen: EventSourceLike['onopen'] = null;
  closed = false;
  private readonly listeners = new Map<string, Array<(event: unknown) => void>>();

  constructor(readonly url: string) {
    FakeEventSource.last = this;
  }

  addEventListener(type: string, listener: (event: unknown) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.closed = true;
  }

  emit(type: string, event: unknown): void {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
}

function setUp() {
  const socket = new SseSocket(FakeEventSource, 'http://gateway/api/notifications/stream?token=t');
  const source = FakeEventSource.last;
  const frames: unknown[] = [];
  const closes: Array<{ code: number; reason: string }> = [];
  socket.onmessage = ({ data }) => frames.push(data);
  socket.onclose = (event) => closes.push(event);
  return { socket, source, frames, closes };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('SseSocket', () => {
  it('hands on every stream event as the frame it carries, and opens with the EventSource', () => {
    const { socket, source, frames } = setUp();
    expect(socket.readyState).toBe(0);
    source.onopen?.({});
    expect(socket.readyState).toBe(1);
    source.emit('connected', { data: '{"event":"connected","data":{"last_id":3}}' });
    source.emit('notification', { data: '{"event":"notification","id":4}' });
    source.emit('broadcast', { data: '{"event":"broadcast","id":1}' });
    source.emit('error', { data: '{"event":"error","data":{"code":"unavailable","message":"later"}}' });
    expect(frames).toHaveLength(4);
  });

  it("turns the stream's last error event into a close with its code, and closes the EventSource so it does not reconnect", async () => {
    const { socket, source, frames, closes } = setUp();
    source.emit('error', {
      data: '{"event":"error","data":{"code":"token_expired","message":"token expired","close_code":4001}}',
    });
    expect(source.closed).toBe(true);
    expect(socket.readyState).toBe(3);
    await tick();
    expect(closes).toEqual([{ code: 4001, reason: 'token expired' }]);
    expect(frames).toEqual([]);
  });

  it("turns the EventSource's own error (no data: failed or dropped) into a close with 1006, once", async () => {
    const { source, closes } = setUp();
    source.emit('error', { type: 'error' });
    source.emit('error', { type: 'error' });
    await tick();
    expect(closes).toEqual([{ code: 1006, reason: 'the stream failed or dropped' }]);
    expect(source.closed).toBe(true);
  });

  it('refuses to send: a stream only receives', () => {
    expect(() => setUp().socket.send()).toThrow(/only receives/);
  });
});
