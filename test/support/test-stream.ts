import { request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { eventually } from './test-context';

export interface StreamEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * A Server-Sent Events client over plain node:http that records every event, comment and `retry:`
 * as it came, for asserting the wire itself (an `EventSource` hides ids, comments and retry).
 * `read: false` takes the headers and then never reads the body, as a stalled client would.
 */
export class TestStream {
  readonly events: StreamEvent[] = [];
  comments = 0;
  retry: number | null = null;
  ended = false;
  private pending = '';

  private constructor(
    readonly request: ClientRequest,
    readonly response: IncomingMessage,
    read: boolean,
  ) {
    request.on('close', () => (this.ended = true));
    response.on('close', () => (this.ended = true));
    response.on('error', () => (this.ended = true));
    if (!read) {
      response.pause();
      return;
    }
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.take(chunk));
  }

  /** Opens a stream; resolves after its `connected` event (or at the headers, with `read: false`). */
  static async open(url: string, headers: Record<string, string> = {}, { read = true } = {}): Promise<TestStream> {
    const { request, response } = await get(url, headers);
    if (response.statusCode !== 200) {
      request.destroy();
      throw new Error(`HTTP ${response.statusCode}`);
    }
    const stream = new TestStream(request, response, read);
    if (read) await eventually(() => stream.eventsOf('connected')[0], 10_000, 'the connected event');
    return stream;
  }

  /** A refused request: its status, content type and JSON body. */
  static async refusal(url: string, headers: Record<string, string> = {}) {
    const { response } = await get(url, headers);
    let text = '';
    response.setEncoding('utf8');
    for await (const chunk of response) text += chunk as string;
    return { status: response.statusCode, type: response.headers['content-type'], body: JSON.parse(text) as unknown };
  }

  eventsOf(event: string): StreamEvent[] {
    return this.events.filter((each) => each.event === event);
  }

  /** The JSON frames of one event name. */
  framesOf(event: string): Array<Record<string, unknown>> {
    return this.eventsOf(event).map((each) => JSON.parse(each.data) as Record<string, unknown>);
  }

  async close(): Promise<void> {
    if (this.ended) return;
    const closed = new Promise((resolve) => this.response.once('close', resolve));
    this.request.destroy();
    await closed;
  }

  private take(chunk: string): void {
    this.pending += chunk;
    for (let end = this.pending.indexOf('\n\n'); end >= 0; end = this.pending.indexOf('\n\n')) {
      const block = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + 2);
      this.parse(block);
    }
  }

  private parse(block: string): void {
    const event: StreamEvent = { event: 'message', data: '' };
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments++;
      const at = line.indexOf(':');
      const [field, value] = at < 0 ? [line, ''] : [line.slice(0, at), line.slice(at + 1).replace(/^ /, '')];
      if (field === 'id') event.id = value;
      else if (field === 'event') event.event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'retry') this.retry = Number(value);
    }
    if (data.length === 0) return;
    event.data = data.join('\n');
    this.events.push(event);
  }
}

function get(
  url: string,
  headers: Record<string, string>,
): Promise<{ request: ClientRequest; response: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers: { accept: 'text/event-stream', ...headers } });
    request.once('response', (response) => resolve({ request, response }));
    request.once('error', reject);
    request.end();
  });
}
