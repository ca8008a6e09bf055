import type { Logger } from '@nestjs/common';
import {
  SocketCloseCode,
  SocketErrorCode,
  broadcastFrameOf,
  errorFrame,
  notificationFrameOf,
  notificationGroup,
  serverFrame,
  withRef,
} from '@app/contracts';
import type { FrameRef, NotificationHead, StoredBroadcast } from '@app/contracts';
import type { InboxPosition, NotificationRepository } from '@app/persistence';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectionTransport } from './connection-transport';
import { FrameRateLimiter } from './frame-rate-limiter';
import type { GatewayMetrics } from './gateway-metrics';

/** Where a connection reads the broadcasts it missed (the gateway's `BroadcastFeed`). */
export interface BroadcastSource {
  /** Up to `limit` broadcasts after `afterId`, within the retention window, oldest first. */
  missedAfter(afterId: number, limit: number): Promise<StoredBroadcast[]>;
}

/** What every connection of a gateway shares; one object, so a connection holds one reference. */
export interface ConnectionContext {
  inbox: NotificationRepository;
  broadcasts: BroadcastSource;
  metrics: GatewayMetrics;
  logger: Logger;
  /** The most notifications one catch-up sends; more and it answers `resume_gap`. */
  resumeWindow: number;
  /** Past this many bytes waiting for a client that does not read, it is closed (4008). */
  maxBufferedBytes: number;
  maxFramesPerSecond: number;
}

/**
 * Why a catch-up runs:
 * - `resume`: the client gave `since` (at connect or in a `resume` frame): it ends with `resumed`;
 * - `outage`: this gateway lost Redis and the frames published meanwhile: it ends with `resumed`;
 * - `gap`: a live frame came whose seq is not the next one (another worker's frame is late, or
 *   lost): the missing ones are read from the inbox, silently.
 */
type CatchUpReason = 'resume' | 'outage' | 'gap';

interface HeldFrame {
  frame: Buffer;
  head: NotificationHead;
}

/** Stored notifications read and sent per query, so a catch-up never builds a large burst. */
const CATCH_UP_PAGE = 100;
/** How long a catch-up waits for a client that does not read before closing it as too slow. */
const DRAIN_TIMEOUT_MS = 30_000;
const RETRY_DELAYS_MS = [500, 1000, 2000, 5000, 10_000];
/** Differs from a failed `read`'s message, and carries no ref unless a `resume` frame asked. */
const CATCH_UP_UNAVAILABLE = 'The inbox is unavailable; the catch-up is retried by the gateway';
/** `positionSeq` of a socket whose position is not known yet. */
const UNKNOWN = -1;
/** Broadcast ids sent live above the floor that are remembered one by one; beyond, the floor rises. */
const MAX_BROADCASTS_ABOVE_FLOOR = 32;

/**
 * Where a socket starts in the broadcasts: after `after`, sending those it missed first when
 * `catchUp` (the client gave `broadcast_since`), or from now on only (`after` is the newest).
 */
export interface BroadcastStart {
  after: number;
  catchUp: boolean;
}

/**
 * One client's connection (a WebSocket or a Server-Sent Events stream: its `transport`) and
 * everything about it: who it is, what it has been sent, and what it is owed. The rule it keeps: it
 * sends a user's notifications in seq order, each once, with no gap, whatever the transport.
 *
 * The position (`positionId`, `positionSeq`) is where the socket stands in its user's inbox:
 * everything up to it has been sent (or was there before a client that connected without
 * `since`). While live, a frame whose seq is the next one is sent at once; an older one is dropped;
 * a newer one means a gap, filled from the inbox before it is sent. While not live (before the
 * position is known, and during a catch-up), live frames are held (up to `maxBufferedBytes`;
 * beyond, they are dropped and read from the inbox afterwards) and released in order after it.
 *
 * A gateway holds tens of thousands of these, mostly idle: state is kept in plain fields, and
 * what only a catch-up needs is made only when one runs.
 */
export class ClientConnection {
  readonly frames: FrameRateLimiter;
  private positionId = 0;
  private positionSeq = UNKNOWN;
  /** The first seq of the contiguous run ending at the position that this socket was actually sent. */
  private sentFromSeq = UNKNOWN;
  private live = false;
  /** Live frames waiting while the socket is not live. */
  private held: HeldFrame[] | null = null;
  private heldBytes = 0;
  /** Some held frames were dropped: the inbox must be read again after the catch-up. */
  private heldOverflowed = false;
  /** The latest of this socket's catch-ups, which run one after another; null when none is queued. */
  private catchUps: Promise<void> | null = null;
  /** Broadcast frames that came while the socket was not live for broadcasts (before its start, during a catch-up). */
  private heldBroadcasts: Array<{ frame: Buffer; id: number }> | null = [];
  /** Every broadcast up to this id was sent on this socket, or came before where it started. */
  private broadcastFloor = 0;
  /** Broadcasts above the floor sent on this socket (they may come out of id order from two publishers). */
  private broadcastsAboveFloor: number[] | null = null;
  /** Where the token-expiry clock keeps this connection (its bucket). */
  expiryBucket = 0;
  /** The close code the server closed this socket with; 0 while open or when the client closed it. */
  closedWith = 0;

  constructor(
    readonly transport: ConnectionTransport,
    readonly connectionId: string,
    readonly userId: string,
    private readonly context: ConnectionContext,
  ) {
    this.frames = new FrameRateLimiter(context.maxFramesPerSecond);
  }

  /** The user's group, `Notifications_{user_id}`. */
  get group(): string {
    return notificationGroup(this.userId);
  }

  get isOpen(): boolean {
    return this.transport.isOpen;
  }

  /**
   * Called once the socket's group subscription is live. Broadcasts first: with `broadcasts.catchUp`,
   * those missed after `broadcasts.after`. Then notifications: with `since`, catches it up from
   * there; without, it starts at the end of the inbox (read by `locate`, unless already read).
   * Live frames wait until then. Throws when the inbox cannot be read for that.
   */
  async start(since: number | null, broadcasts: BroadcastStart = { after: 0, catchUp: false }): Promise<void> {
    await this.startBroadcasts(broadcasts);
    if (since !== null) return this.catchUp('resume', since);
    if (this.positionSeq === UNKNOWN) await this.locate();
    this.releaseHeld();
  }

  /** Reads where the user's inbox ends: a socket connecting without `since` starts there. */
  async locate(): Promise<void> {
    this.moveTo(await this.context.inbox.position(this.userId));
  }

  /** The id a client that has received nothing yet resumes from (see the `connected` frame). */
  startsAfter(since: number | null): number {
    return since ?? this.positionId;
  }

  /** A notification frame from the user's group, as the worker published it. */
  receiveNotification(frame: Buffer, head: NotificationHead): void {
    if (!this.live) return this.hold(frame, head);
    if (head.seq <= this.positionSeq) return;
    if (head.seq === this.positionSeq + 1) {
      if (this.send(frame)) this.advanceTo(head);
      return;
    }
    this.hold(frame, head);
    void this.catchUp('gap');
  }

  /** A broadcast frame (to every socket): sent once, after the ones the socket was owed from before it. */
  receiveBroadcast(frame: Buffer, id: number): void {
    if (this.heldBroadcasts) this.heldBroadcasts.push({ frame, id });
    else this.sendBroadcast(frame, id);
  }

  /** The broadcasts after `since` this socket was not sent yet (a `resume` frame's `broadcast_since`). */
  async resumeBroadcasts(since: number): Promise<void> {
    this.heldBroadcasts ??= [];
    await this.startBroadcasts({ after: since, catchUp: true });
  }

  /** Any other frame from the group (a read receipt): sent as it came. */
  receiveFrame(frame: Buffer): void {
    this.send(frame);
  }

  /** A `resume` frame: everything after `since` the socket was not sent yet, then `resumed` (with the frame's ref). */
  resume(since: number, ref?: FrameRef): Promise<void> {
    return this.catchUp('resume', since, ref);
  }

  /** This gateway lost Redis: what was published meanwhile never came. Read it from the inbox. */
  resync(): Promise<void> {
    // Without a position the socket's first catch-up has not run yet; it will read all of it.
    return this.positionSeq === UNKNOWN ? Promise.resolve() : this.catchUp('outage');
  }

  /** Sends one frame unless the socket is closed or has stopped reading; says whether it sent. */
  send(frame: Buffer | string): boolean {
    if (!this.isOpen) return false;
    // A client that stops reading must not make the gateway buffer without bound.
    if (this.transport.bufferedBytes > this.context.maxBufferedBytes) {
      this.closeAsTooSlow();
      return false;
    }
    this.transport.send(frame);
    this.context.metrics.framesOut.inc();
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closedWith === 0 && this.isOpen) this.closedWith = code;
    this.transport.close(code, reason);
  }

  private closeAsTooSlow(): void {
    this.close(SocketCloseCode.TooSlow, 'slow consumer');
    this.context.metrics.dropped.inc({ reason: 'slow_consumer' });
  }

  private async startBroadcasts({ after, catchUp }: BroadcastStart): Promise<void> {
    this.broadcastFloor = Math.max(this.broadcastFloor, after);
    if (catchUp) await this.untilRead('broadcasts', () => this.sendMissedBroadcasts(after));
    const held = (this.heldBroadcasts ?? []).sort((a, b) => a.id - b.id);
    this.heldBroadcasts = null;
    for (const { frame, id } of held) this.sendBroadcast(frame, id);
  }

  private async sendMissedBroadcasts(since: number): Promise<void> {
    for (let after = since; ;) {
      const page = await this.context.broadcasts.missedAfter(after, CATCH_UP_PAGE);
      for (const broadcast of page) {
        after = Number(broadcast.id);
        if (!(await this.roomToSend())) return;
        this.sendBroadcast(broadcastFrameOf(broadcast), after);
      }
      if (page.length < CATCH_UP_PAGE) return;
    }
  }

  private sendBroadcast(frame: Buffer | string, id: number): void {
    if (id <= this.broadcastFloor || this.broadcastsAboveFloor?.includes(id) || !this.send(frame)) return;
    this.context.metrics.broadcastFramesOut.inc();
    const above = (this.broadcastsAboveFloor ??= []);
    above.push(id);
    if (above.length < MAX_BROADCASTS_ABOVE_FLOOR) return;
    // Far enough behind the newest for the stragglers of two publishers to have come by now.
    above.sort((a, b) => a - b);
    this.broadcastFloor = above[above.length / 2];
    this.broadcastsAboveFloor = above.filter((sent) => sent > this.broadcastFloor);
  }

  /** Runs `read` until it succeeds or the socket closes, telling the client once that it waits. */
  private async untilRead(what: string, read: () => Promise<void>): Promise<void> {
    for (let attempt = 0; this.isOpen; attempt++) {
      try {
        return await read();
      } catch (error) {
        this.context.logger.warn({
          msg: `Reading ${what} failed; retrying`,
          connectionId: this.connectionId,
          error: (error as Error).message,
        });
        if (attempt === 0) this.send(errorFrame(SocketErrorCode.Unavailable, CATCH_UP_UNAVAILABLE));
        await sleep(RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]);
      }
    }
  }

  /** `since` for a `resume`; the others start where the socket stands when they run. */
  private catchUp(reason: CatchUpReason, since?: number, ref?: FrameRef): Promise<void> {
    this.live = false;
    const next = (this.catchUps ?? Promise.resolve()).then(() => this.catchUpUntilDone(reason, since, ref));
    this.catchUps = next;
    const forget = () => {
      if (this.catchUps === next) this.catchUps = null;
    };
    next.then(forget, forget);
    return next;
  }

  /** Retries while the inbox is unreachable (the client is told once), as long as the socket is open. */
  private async catchUpUntilDone(reason: CatchUpReason, since?: number, ref?: FrameRef): Promise<void> {
    this.live = false;
    for (let attempt = 0; this.isOpen; attempt++) {
      try {
        await this.readAndSend(reason, since ?? this.positionId, ref);
        break;
      } catch (error) {
        this.context.logger.warn({
          msg: 'Catch-up failed; retrying',
          connectionId: this.connectionId,
          reason,
          error: (error as Error).message,
        });
        if (attempt === 0 && reason !== 'gap') {
          this.send(withRef(errorFrame(SocketErrorCode.Unavailable, CATCH_UP_UNAVAILABLE), ref));
        }
        await sleep(RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]);
      }
    }
    if (this.isOpen) this.releaseHeld();
  }

  private async readAndSend(reason: CatchUpReason, since: number, ref?: FrameRef): Promise<void> {
    const { inbox, resumeWindow } = this.context;
    const { userId } = this;
    const { end, rows: firstPage } = await inbox.catchUpFrom(userId, since, Math.min(CATCH_UP_PAGE, resumeWindow + 1));
    if (
      firstPage.length > resumeWindow ||
      (firstPage.length === CATCH_UP_PAGE &&
        (await inbox.countBetween(userId, since, end.id, resumeWindow + 1)) > resumeWindow)
    ) {
      this.send(
        withRef(
          serverFrame('resume_gap', { since, window: resumeWindow, fetch: `/api/notifications?after=${since}` }),
          ref,
        ),
      );
      this.moveTo(end);
      return;
    }
    const alreadySent = this.sentRange();
    let sent = 0;
    let lastSentId = since;
    let readUpTo = since;
    for (let rows = firstPage; rows.length > 0; rows = await inbox.between(userId, readUpTo, end.id, CATCH_UP_PAGE)) {
      for (const row of rows) {
        readUpTo = Number(row.id);
        if (alreadySent(Number(row.seq))) continue;
        if (!(await this.roomToSend()) || !this.send(notificationFrameOf(row))) return;
        this.noteSent(readUpTo, Number(row.seq));
        lastSentId = readUpTo;
        sent++;
      }
      if (rows.length < CATCH_UP_PAGE || readUpTo >= end.id) break;
    }
    this.moveTo(end);
    if (reason !== 'gap') this.send(withRef(serverFrame('resumed', { since, count: sent, last_id: lastSentId }), ref));
  }

  /** Sends the held frames in seq order, then goes live; a missing seq among them starts a catch-up. */
  private releaseHeld(): void {
    const held = (this.held ?? []).sort((a, b) => a.head.seq - b.head.seq);
    this.held = null;
    this.heldBytes = 0;
    this.live = true;
    if (this.heldOverflowed) {
      this.heldOverflowed = false;
      void this.catchUp('gap');
      return;
    }
    for (const [index, { frame, head }] of held.entries()) {
      if (head.seq <= this.positionSeq) continue;
      if (head.seq !== this.positionSeq + 1) {
        for (const waiting of held.slice(index)) this.hold(waiting.frame, waiting.head);
        void this.catchUp('gap');
        return;
      }
      if (!this.send(frame)) return;
      this.advanceTo(head);
    }
  }

  private hold(frame: Buffer, head: NotificationHead): void {
    if (this.heldOverflowed) return;
    this.heldBytes += frame.length;
    if (this.heldBytes <= this.context.maxBufferedBytes) {
      (this.held ??= []).push({ frame, head });
      return;
    }
    // The inbox has them all: drop what is held and read them after the catch-up.
    this.held = null;
    this.heldBytes = 0;
    this.heldOverflowed = true;
  }

  /** Which seqs this socket was sent already, as they stand before a catch-up (a `resume` from before what it has). */
  private sentRange(): (seq: number) => boolean {
    const from = this.sentFromSeq;
    const to = this.positionSeq;
    return (seq) => from !== UNKNOWN && seq >= from && seq <= to;
  }

  private noteSent(id: number, seq: number): void {
    if (this.sentFromSeq === UNKNOWN || seq < this.sentFromSeq) this.sentFromSeq = seq;
    if (seq > this.positionSeq) {
      this.positionId = id;
      this.positionSeq = seq;
    }
  }

  /** A live frame was sent: the socket is one further. */
  private advanceTo(head: NotificationHead): void {
    if (this.sentFromSeq === UNKNOWN) this.sentFromSeq = head.seq;
    this.positionId = head.id;
    this.positionSeq = head.seq;
  }

  /** The end of a catch-up: everything up to `end` is sent, or the client was told to fetch it. */
  private moveTo(end: InboxPosition): void {
    if (end.seq > this.positionSeq) {
      this.positionId = end.id;
      this.positionSeq = end.seq;
    }
  }

  /** Waits while the client's unread bytes are past half the limit; false once the socket is gone. */
  private async roomToSend(): Promise<boolean> {
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (this.isOpen && this.transport.bufferedBytes > this.context.maxBufferedBytes / 2) {
      if (Date.now() > deadline) {
        this.closeAsTooSlow();
        return false;
      }
      await sleep(20);
    }
    return this.isOpen;
  }
}
